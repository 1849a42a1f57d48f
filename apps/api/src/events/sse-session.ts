import { compareEventIds } from "@wgp-farm/queue";
import type { Response } from "express";
import type { EventFilter } from "./event-filter.js";
import type { HubEvent, HubListener } from "./event-hub.js";
import { HEARTBEAT_FRAME } from "./sse-frames.js";

/** Bytes a client may leave unread before it is let go (it resumes with Last-Event-ID). */
export const MAX_UNREAD_BYTES = 4 * 1024 * 1024;
/** Live events held while a resuming client catches up from the log. */
const MAX_HELD_EVENTS = 50_000;

/**
 * One SSE client. While it catches up from the log, live events from the hub are held; once it is
 * live, only events past the last one it was sent go out, so the seam between the replay and the live
 * feed neither repeats nor misses an event. A client that stops reading is disconnected rather than
 * buffered without bound.
 */
export class SseSession implements HubListener {
  readonly #res: Response;
  readonly #filter: EventFilter;
  #held: HubEvent[] | undefined = [];
  #lastSent: string | null = null;
  #closed = false;

  constructor(res: Response, filter: EventFilter) {
    this.#res = res;
    this.#filter = filter;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The client has seen every event up to `id` (its Last-Event-ID). */
  seenUpTo(id: string): void {
    this.#lastSent = id;
  }

  /** Writes replayed events (the catch-up) and remembers the last one. */
  replay(events: readonly HubEvent[]): void {
    this.#send(events);
    const last = events.at(-1);
    if (last) this.#lastSent = last.event.id;
  }

  /** Ends the catch-up: the held live events go out (past the replay's end), then every new one. */
  goLive(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    this.deliver(held);
  }

  deliver(events: readonly HubEvent[]): void {
    if (this.#closed) return;
    if (this.#held) {
      this.#held.push(...events);
      if (this.#held.length > MAX_HELD_EVENTS) this.close();
      return;
    }
    const lastSent = this.#lastSent;
    const fresh =
      lastSent === null ? events : events.filter(({ event }) => compareEventIds(event.id, lastSent) > 0);
    this.#send(fresh);
    const last = fresh.at(-1);
    if (last) this.#lastSent = last.event.id;
  }

  heartbeat(): void {
    this.write(HEARTBEAT_FRAME);
  }

  write(frame: string): void {
    if (this.#closed) return;
    this.#res.write(frame);
    if (this.#res.writableLength > MAX_UNREAD_BYTES) this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#res.end();
  }

  #send(events: readonly HubEvent[]): void {
    let frames = "";
    for (const hubEvent of events) if (this.#filter(hubEvent)) frames += hubEvent.frame;
    if (frames) this.write(frames);
  }
}
