import { readRecord } from "@wgp-farm/config";
import { z } from "zod";
import { RedisStore } from "../redis/redis-store.js";
import type { FarmKeys } from "./farm-keys.js";
import { PUBLISH_CLAIM_SCRIPT } from "./scripts/publish-claim.js";

/** How long the record of who published a task is kept (the fence itself is the job's lock). */
export const FENCING_RECORD_TTL_MS = 30 * 24 * 60 * 60_000;

/** The attempt that claimed the right to publish a task's output, as Redis recorded it. */
export const PublishClaimSchema = z.object({
  /** The job's `attemptsStarted` when the attempt was fetched: the `attempt` of its result.json. */
  attempt: z.number().int(),
  token: z.string(),
  slot: z.string(),
  claimed_at: z.string(),
  lease_ms: z.number().int(),
});

export type PublishClaim = z.infer<typeof PublishClaimSchema>;

/** What an attempt asks for when it wants to publish. */
export interface PublishClaimRequest {
  queue: string;
  taskId: string;
  token: string;
  attempt: number;
  slot: string;
  /** How long the lock is extended for, so that the publish has time to finish under it. */
  leaseMs: number;
}

/**
 * The fencing gate in front of every publish: a claim succeeds only while the attempt's token is
 * still the job's lock, extends that lock by a lease, and records the claiming attempt, atomically.
 * An attempt whose claim is refused lost its job to another attempt and must publish nothing.
 */
export class PublishClaims extends RedisStore<FarmKeys> {
  readonly #claim = this.script<number>("wgpPublishClaim", 3, PUBLISH_CLAIM_SCRIPT);

  /** The recorded claim when the attempt still holds its job, else null (nothing was written). */
  async claim(request: PublishClaimRequest): Promise<PublishClaim | null> {
    const claim: PublishClaim = {
      attempt: request.attempt,
      token: request.token,
      slot: request.slot,
      claimed_at: new Date().toISOString(),
      lease_ms: request.leaseMs,
    };
    const claimed = await this.#claim(
      [
        this.keys.jobLockKey(request.queue, request.taskId),
        this.keys.stalledKey(request.queue),
        this.keys.publishClaim(request.taskId),
      ],
      request.token,
      String(request.leaseMs),
      request.taskId,
      JSON.stringify(claim),
      String(FENCING_RECORD_TTL_MS),
    );
    return Number(claimed) === 1 ? claim : null;
  }

  /** The last claim recorded for the task, if any. */
  async read(taskId: string): Promise<PublishClaim | null> {
    const raw = await this.redis.get(this.keys.publishClaim(taskId));
    return readRecord(PublishClaimSchema, raw, "publish claim", this.logger) ?? null;
  }
}
