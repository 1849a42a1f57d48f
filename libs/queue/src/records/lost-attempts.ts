import { readRecord } from "@wgp-farm/config";
import { z } from "zod";
import { RedisStore } from "../redis/redis-store.js";
import type { FarmKeys } from "./farm-keys.js";
import { FENCING_RECORD_TTL_MS } from "./publish-claims.js";

/** A task's attempt that lost its job to another attempt before it could publish. */
export const LostAttemptSchema = z.object({
  /** The job's `attemptsStarted` when the attempt was fetched. */
  attempt: z.number().int(),
  slot: z.string(),
  started_at: z.string(),
  lost_at: z.string(),
  /** GPU time the attempt spent on the task, wasted since another attempt does the work. */
  gpu_ms: z.number().int(),
  why: z.string(),
});

export type LostAttempt = z.infer<typeof LostAttemptSchema>;

const MAX_RECORDS = 20;

/** The attempts of each task that lost their job, kept after the task ends (for `status <task_id>`). */
export class LostAttempts extends RedisStore<FarmKeys> {
  async record(taskId: string, lost: LostAttempt): Promise<void> {
    const key = this.keys.lostAttempts(taskId);
    await this.redis
      .multi()
      .rpush(key, JSON.stringify(lost))
      .ltrim(key, -MAX_RECORDS, -1)
      .pexpire(key, FENCING_RECORD_TTL_MS)
      .exec();
  }

  /** The task's lost attempts, oldest first; records this version cannot read are skipped. */
  async list(taskId: string): Promise<LostAttempt[]> {
    const raws = await this.redis.lrange(this.keys.lostAttempts(taskId), 0, -1);
    return raws.flatMap((raw) => readRecord(LostAttemptSchema, raw, "lost attempt", this.logger) ?? []);
  }
}
