import type { AttemptOutcome, AttemptRecord, FarmKeys } from "@wgp-farm/queue";
import type { Redis } from "ioredis";

const MAX_RECORDS = 20;

/**
 * Each task's attempts (slot, start, how it ended), kept in Redis until the task ends. Only the slot
 * holding the job's lock writes, so read-modify-write is safe. An attempt still marked `running`
 * when the next one begins is one whose worker died: it is recorded as `stalled`.
 */
export class AttemptHistory {
  constructor(
    private readonly redis: Redis,
    private readonly keys: FarmKeys,
  ) {}

  async read(taskId: string): Promise<AttemptRecord[]> {
    const raw = await this.redis.hget(this.keys.attemptHistory, taskId);
    if (!raw) return [];
    try {
      return JSON.parse(raw) as AttemptRecord[];
    } catch {
      return [];
    }
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
