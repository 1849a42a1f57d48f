import { readRecord } from "@wgp-farm/config";
import { type FarmKeys, RedisStore } from "@wgp-farm/queue";
import { z } from "zod";

/** Attempts kept per subscription (newest first). */
export const DELIVERY_LOG_LENGTH = 500;

export const DeliveryAttemptSchema = z.object({
  delivery_id: z.string(),
  event_id: z.string(),
  event_type: z.string(),
  task_id: z.string(),
  url: z.string(),
  attempt: z.number(),
  /** delivered; failed (retried at `next_attempt_at`); dead (no more retries); dropped (no subscription). */
  outcome: z.enum(["delivered", "failed", "dead", "dropped"]),
  http_status: z.number().nullable(),
  error: z.string().nullable(),
  ms: z.number(),
  at: z.string(),
  next_attempt_at: z.string().nullable(),
});
export type DeliveryAttempt = z.output<typeof DeliveryAttemptSchema>;

/** Each subscription's recent delivery attempts (a capped list), for `wgp-farm webhook ls --deliveries`. */
export class DeliveryLog extends RedisStore<FarmKeys> {
  async record(subscriptionId: string, attempt: DeliveryAttempt): Promise<void> {
    const key = this.keys.webhookDeliveries(subscriptionId);
    await this.redis
      .multi()
      .lpush(key, JSON.stringify(attempt))
      .ltrim(key, 0, DELIVERY_LOG_LENGTH - 1)
      .exec();
  }

  async list(subscriptionId: string, count = DELIVERY_LOG_LENGTH): Promise<DeliveryAttempt[]> {
    const raws = await this.redis.lrange(this.keys.webhookDeliveries(subscriptionId), 0, count - 1);
    return raws
      .map((raw) => readRecord(DeliveryAttemptSchema, raw, "webhook delivery"))
      .filter((found) => found !== undefined);
  }
}
