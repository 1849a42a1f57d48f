import { parseDuration } from "@wgp-farm/queue";
import { z } from "zod";

/**
 * A point in time for `ls --since/--until`: an ISO date or time, or a duration ago (`2h`, `1d12h`).
 * Parsed to milliseconds since the epoch when the command runs.
 */
export const pointInTimeSchema = z.string().transform((text, context) => {
  const ago = parseDuration(text);
  if (ago !== null) return Date.now() - ago;
  const at = Date.parse(text);
  if (Number.isNaN(at)) {
    context.addIssue({
      code: "custom",
      message: `'${text}' is neither a time (2026-12-01T08:00Z) nor a duration ago (2h, 1d12h)`,
    });
    return z.NEVER;
  }
  return at;
});

/** Whether `ls` must ask the search index (words or a time range) rather than list the queues. */
export function wantsSearch(settings: {
  search?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
}): boolean {
  return settings.search !== undefined || settings.since !== undefined || settings.until !== undefined;
}
