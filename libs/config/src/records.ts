import type { Logger } from "pino";
import type { z } from "zod";

const reported = new Set<string>();

/**
 * Reads a persisted record (a Redis value, a JSON file) through its schema. A record in an older or
 * broken shape is skipped (undefined) and logged once per `kind`, so a rolling upgrade that meets records
 * written by another version degrades to "not there" instead of throwing deep inside the caller.
 */
export function readRecord<S extends z.ZodType>(
  schema: S,
  raw: string | null | undefined,
  kind: string,
  logger?: Pick<Logger, "warn">,
): z.output<S> | undefined {
  if (raw === null || raw === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    reportOnce(kind, logger, `a ${kind} record is not JSON (${(error as Error).message}); skipped`);
    return undefined;
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? issue.path.join(".") : "(record)";
  reportOnce(
    kind,
    logger,
    `a ${kind} record has an unexpected shape at ${where}: ${issue?.message}; skipped`,
  );
  return undefined;
}

function reportOnce(kind: string, logger: Pick<Logger, "warn"> | undefined, message: string): void {
  if (reported.has(kind)) return;
  reported.add(kind);
  (logger ?? console).warn(message);
}
