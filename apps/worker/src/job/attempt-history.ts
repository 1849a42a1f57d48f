import { readRecord } from "@wgp-farm/config";
import { type AttemptOutcome, type AttemptRecord, type FarmKeys, RedisStore } from "@wgp-farm/queue";
import { z } from "zod";
import { PATCH_ATTEMPT_SCRIPT } from "./scripts/patch-attempt.js";

const MAX_RECORDS = 20;

/** What `lost` records in the attempt's `message`. */
export const LOST_TO_ANOTHER_ATTEMPT = "lost to another attempt";

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
  "lost",
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
 * Each task's attempts (slot, start, how it ended), kept in Redis until the task ends. The slot
 * holding the job's lock adds attempts; an attempt records its own end in place (a script), so that
 * an attempt that lost its job can mark itself `lost` without overwriting the attempt that holds the
 * job now. An attempt still marked `running` when the next one begins is one whose worker died or
 * lost touch: it is recorded as `stalled` (and as `lost` if that worker comes back).
 */
export class AttemptHistory extends RedisStore<FarmKeys> {
  readonly #patchAttempt = this.script<number>("wgpPatchAttempt", 1, PATCH_ATTEMPT_SCRIPT);

  /** The task's attempts; none when there is no record, or one in a shape this version cannot read. */
  async read(taskId: string): Promise<AttemptRecord[]> {
    const raw = await this.redis.hget(this.keys.attemptHistory, taskId);
    return readRecord(AttemptListSchema, raw, "attempt history", this.logger) ?? [];
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
    const last = records.at(-1);
    if (!last) return [];
    const patch = {
      slot: last.slot,
      started_at: last.started_at,
      outcome,
      message,
      ended_at: new Date().toISOString(),
    };
    const ended = [...records.slice(0, -1), { ...last, ...patch }];
    await this.#patch(taskId, patch, JSON.stringify(ended.slice(-MAX_RECORDS)));
    return ended;
  }

  /**
   * Marks an attempt (as `begin` recorded it) lost to another attempt. Nothing is written once the
   * task has no history (it ended, and its record went with it).
   */
  async lost(
    taskId: string,
    attempt: Pick<AttemptRecord, "slot" | "started_at">,
    why: string,
  ): Promise<void> {
    const message = `${LOST_TO_ANOTHER_ATTEMPT}: ${why}`;
    const patch = { ...attempt, outcome: "lost", message, ended_at: new Date().toISOString() };
    await this.#patch(taskId, patch, "");
  }

  async #patch(taskId: string, patch: object, whole: string): Promise<void> {
    await this.#patchAttempt([this.keys.attemptHistory], taskId, JSON.stringify(patch), whole);
  }

  async forget(taskId: string): Promise<void> {
    await this.redis.hdel(this.keys.attemptHistory, taskId);
  }

  async #write(taskId: string, records: readonly AttemptRecord[]): Promise<void> {
    await this.redis.hset(this.keys.attemptHistory, taskId, JSON.stringify(records.slice(-MAX_RECORDS)));
  }
}

/** Engine crashes and hangs among a task's attempts. */
export function crashesIn(records: readonly AttemptRecord[]): number {
  return records.filter((record) => record.outcome === "crashed" || record.outcome === "hung").length;
}
