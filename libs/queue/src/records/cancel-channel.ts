import { bestEffort, type Logger, readRecord } from "@wgp-farm/config";
import type { Redis } from "ioredis";
import { z } from "zod";
import type { FarmKeys } from "./farm-keys.js";

/** A pending cancel, in `keys.cancelRequest(task_id)` (JSON, with a TTL). */
export const CancelRequestSchema = z.object({
  reason: z.string().nullable(),
  requested_at: z.string(),
});
export type CancelRequest = z.output<typeof CancelRequestSchema>;

/** How long a cancel request stays pending: a stalled job re-queued after its worker died still sees it. */
export const CANCEL_REQUEST_TTL_MS = 60 * 60_000;

/**
 * Cancel requests for running tasks, wherever they run. A request is a flag key (with a TTL) plus a
 * message on a pub/sub channel: the message reaches the slot at once, and the flag covers a slot that
 * missed it (reconnecting subscriber) or a job that only starts later (re-queued after a stall).
 */
export class CancelChannel {
  constructor(
    private readonly redis: Redis,
    private readonly keys: FarmKeys,
    private readonly ttlMs = CANCEL_REQUEST_TTL_MS,
    private readonly logger?: Logger,
  ) {}

  async request(taskId: string, reason?: string): Promise<void> {
    const record: CancelRequest = { reason: reason ?? null, requested_at: new Date().toISOString() };
    await this.redis.set(this.keys.cancelRequest(taskId), JSON.stringify(record), "PX", this.ttlMs);
    await this.redis.publish(this.keys.cancelChannel, taskId);
  }

  async isRequested(taskId: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.cancelRequest(taskId))) === 1;
  }

  /** The pending request for a task, or null. */
  async requestOf(taskId: string): Promise<CancelRequest | null> {
    const raw = await this.redis.get(this.keys.cancelRequest(taskId));
    if (raw === null) return null;
    // A request in another shape (another version wrote it) still asks for the cancel.
    return (
      readRecord(CancelRequestSchema, raw, "cancel request", this.logger) ?? {
        reason: null,
        requested_at: "",
      }
    );
  }

  async clear(taskId: string): Promise<void> {
    await this.redis.del(this.keys.cancelRequest(taskId));
  }

  /**
   * Calls `handler` with the task id of every cancel request from now on. `subscriberRedis` must be a
   * connection of its own (a subscribed connection can run no other command). Returns a function that
   * unsubscribes.
   */
  async subscribe(subscriberRedis: Redis, handler: (taskId: string) => void): Promise<() => Promise<void>> {
    const channel = this.keys.cancelChannel;
    const onMessage = (from: string, taskId: string) => {
      if (from === channel) handler(taskId);
    };
    subscriberRedis.on("message", onMessage);
    await subscriberRedis.subscribe(channel);
    return async () => {
      subscriberRedis.off("message", onMessage);
      await bestEffort(
        subscriberRedis.unsubscribe(channel),
        this.logger,
        "unsubscribing from cancel requests",
      );
    };
  }
}
