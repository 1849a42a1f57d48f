import { type Logger, readRecord } from "@wgp-farm/config";
import type { AttemptOutcome, AttemptRecord, FarmKeys } from "@wgp-farm/queue";
import type { Redis } from "ioredis";
import { z } from "zod";

const MAX_RECORDS = 20;

const AttemptOutcomeSchema = z.enum([
  "running",
  "completed",
  "failed",
  "retried",
  "crashed",
  "hung",
  "stalled",
  "cancelled",
  "requeued",
  "quarantined",
]) satisfies z.ZodType<AttemptOutcome>;

/** One attempt as stored in the attempt-history hash. */
export const AttemptRecordSchema = z.object({
  slot: z.string(),
  started_at: z.string(),
  ended_at: z.string().nullable(),
  outcome: AttemptOutcomeSchema,
  message: z.string().nullable(),
}) satisfies z.ZodType<AttemptRecord>;

/** A task's attempts, oldest first: the value of its field in the attempt-history hash. */
export const AttemptListSchema = z.array(AttemptRecordSchema);

/**
 * Each task's attempts (slot, start, how it ended), kept in Redis until the task ends. Only the slot
 * holding the job's lock writes, so read-modify-write is safe. An attempt still marked `running`
 * when the next one begins is one whose worker died: it is recorded as `stalled`.
 */
export class AttemptHistory {
  readonly #redis: Redis;
  readonly #keys: FarmKeys;
  readonly #logger: Logger | undefined;

  constructor(redis: Redis, keys: FarmKeys, logger?: Logger) {
    this.#redis = redis;
    this.#keys = keys;
    this.#logger = logger;
  }

  /** The task's attempts; none when there is no record, or one in a shape this version cannot read. */
  async read(taskId: string): Promise<AttemptRecord[]> {
    const raw = await this.#redis.hget(this.#keys.attemptHistory, taskId);
    return readRecord(AttemptListSchema, raw, "attempt history", this.#logger) ?? [];
  }

  /** Adds a running attempt to `previous` (as read before) and stores the list; returns it. */
  async begin(taskId: string, slot: string, previous: readonly AttemptRecord[]): Promise<AttemptRecord[]> {
    const now = new Date().toISOString();
    const records = previous.map((record) =>
      record.outcome === "running"
        ? {
            ...record,
            outcome: "stalled" as const,
            ended_at: now,
            message: "the worker died or lost the job's lock",
          }
        : record,
    );
    records.push({ slot, started_at: now, ended_at: null, outcome: "running", message: null });
    await this.#write(taskId, records);
    return records;
  }

  /** Records how the running attempt ended. */
  async end(
    taskId: string,
    records: readonly AttemptRecord[],
    outcome: AttemptOutcome,
    message: string | null,
  ): Promise<AttemptRecord[]> {
    const ended = records.map((record, i) =>
      i === records.length - 1 ? { ...record, outcome, message, ended_at: new Date().toISOString() } : record,
    );
    await this.#write(taskId, ended);
    return ended;
  }

  async forget(taskId: string): Promise<void> {
    await this.#redis.hdel(this.#keys.attemptHistory, taskId);
  }

  async #write(taskId: string, records: readonly AttemptRecord[]): Promise<void> {
    await this.#redis.hset(this.#keys.attemptHistory, taskId, JSON.stringify(records.slice(-MAX_RECORDS)));
  }
}

/** Engine crashes and hangs among a task's attempts. */
export function crashesIn(records: readonly AttemptRecord[]): number {
  return records.filter((record) => record.outcome === "crashed" || record.outcome === "hung").length;
}
