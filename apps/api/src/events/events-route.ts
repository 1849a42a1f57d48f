import { isEventId } from "@wgp-farm/queue";
import type { Request, RequestHandler, Response } from "express";
import { caller } from "../auth/caller.js";
import { ApiError } from "../errors.js";
import { askRedis } from "../redis-gate.js";
import { eventFilterOf } from "./event-filter.js";
import type { EventHub } from "./event-hub.js";
import { renderGap, renderOpening } from "./sse-frames.js";
import { SseSession } from "./sse-session.js";

const REPLAY_PAGE = 1_000;
/** What EventSource clients wait before reconnecting. */
const RETRY_MS = 2_000;

function lastEventIdOf(req: Request): string | null {
  const value = req.get("last-event-id")?.trim();
  if (!value) return null;
  if (!isEventId(value)) {
    throw new ApiError(
      400,
      "invalid_last_event_id",
      `Last-Event-ID '${value.slice(0, 64)}' is not an event id of this farm (like 1733200000000-0)`,
    );
  }
  return value;
}

/**
 * GET /v1/events: the farm's events as server-sent events, filtered, resumable with Last-Event-ID
 * from the event log (an id no longer in the log gets an `event: gap`), with heartbeats.
 */
export function eventsRoute(context: { hub: EventHub }): RequestHandler {
  const { hub } = context;
  return async (req: Request, res: Response) => {
    const filter = eventFilterOf(req, caller(req));
    const lastEventId = lastEventIdOf(req);
    const session = new SseSession(res, filter);
    // Subscribed before the replay starts: what arrives meanwhile is held, not lost.
    const unsubscribe = hub.subscribe(session);
    res.on("close", () => {
      unsubscribe();
      session.close();
    });
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    });
    res.flushHeaders();
    session.write(renderOpening(RETRY_MS));
    try {
      if (lastEventId) await replayAfter(hub, session, lastEventId);
      session.goLive();
    } catch {
      // Headers are out: the client reconnects with its Last-Event-ID and loses nothing.
      session.close();
    }
  };
}

async function replayAfter(hub: EventHub, session: SseSession, lastEventId: string): Promise<void> {
  const { redis } = hub.log;
  const stillThere = await askRedis(redis, "read the event log", () => hub.log.has(lastEventId));
  if (!stillThere) {
    const oldest = await askRedis(redis, "read the event log", () => hub.log.firstId());
    session.write(renderGap(lastEventId, oldest));
    return;
  }
  session.seenUpTo(lastEventId);
  let cursor = lastEventId;
  while (!session.closed) {
    const page = await askRedis(redis, "read the event log", () => hub.after(cursor, REPLAY_PAGE));
    session.replay(page);
    const last = page.at(-1);
    if (!last || page.length < REPLAY_PAGE) return;
    cursor = last.event.id;
  }
}
