import type { FarmEvent } from "@wgp-farm/queue";

/** The SSE frame of one farm event: its log id is the SSE id a client resumes from. */
export function renderEvent(event: FarmEvent): string {
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** Told instead of a replay when the client's Last-Event-ID is no longer in the log. */
export function renderGap(lastEventId: string, oldestId: string | null): string {
  const body = {
    last_event_id: lastEventId,
    oldest_id: oldestId,
    message:
      "events after your Last-Event-ID are no longer in the farm's event log: list the tasks again (GET /v1/tasks); live events follow",
  };
  return `event: gap\ndata: ${JSON.stringify(body)}\n\n`;
}

export const HEARTBEAT_FRAME = ": heartbeat\n\n";

/** Sent first: how long a client waits before reconnecting, and a comment that opens the stream. */
export function renderOpening(retryMs: number): string {
  return `retry: ${retryMs}\n: connected\n\n`;
}
