import { readRecord } from "@wgp-farm/config";
import { FARM_EVENT_TYPES } from "@wgp-farm/tasks";
import type { Redis } from "ioredis";
import { z } from "zod";
import { RedisStore } from "../redis/redis-store.js";
import type { FarmKeys } from "./farm-keys.js";

/**
 * The records of webhook deliveries that `wgp-farm api` writes and the CLI (`webhook ls`) and the
 * dashboard read: each subscription's delivery log, and the farm-wide subscriptions as stored.
 */

/** Attempts kept per subscription (newest first). */
export const DELIVERY_LOG_LENGTH = 500;

/** The delivery log of a task's own webhook is kept under this subscription id. */
export const TASK_WEBHOOK_SUBSCRIPTION = "task";

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

/** The fields a delivery attempt is shown with, by `webhook ls --deliveries` and the dashboard's /webhooks. */
export const DELIVERY_ATTEMPT_COLUMNS: readonly string[] = [
  "Delivery",
  "Event",
  "Task",
  "Try",
  "Outcome",
  "HTTP",
  "At",
  "Error",
];

/** A delivery attempt's fields as text, in the order of DELIVERY_ATTEMPT_COLUMNS ("-" where there is none). */
export function deliveryAttemptCells(attempt: DeliveryAttempt): string[] {
  return [
    attempt.delivery_id,
    attempt.event_type,
    attempt.task_id,
    String(attempt.attempt),
    attempt.outcome,
    attempt.http_status === null ? "-" : String(attempt.http_status),
    attempt.at,
    attempt.error ?? "-",
  ];
}

/** A farm-wide subscription: every event of the given types (of every task) goes to `url`. */
export const WebhookSubscriptionSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.enum(FARM_EVENT_TYPES)),
  secret: z.string(),
  description: z.string(),
  created_at: z.string(),
});
export type WebhookSubscription = z.output<typeof WebhookSubscriptionSchema>;

/** The stored subscriptions, oldest first (with their secrets: callers that show them drop it). */
export async function readWebhookSubscriptions(redis: Redis, keys: FarmKeys): Promise<WebhookSubscription[]> {
  const all = await redis.hvals(keys.webhookSubscriptions);
  return all
    .map((raw) => readRecord(WebhookSubscriptionSchema, raw, "webhook subscription"))
    .filter((found) => found !== undefined)
    .sort((a, b) => a.created_at.localeCompare(b.created_at));
}

/** Each subscription's recent delivery attempts (a capped list), for `webhook ls --deliveries` and the dashboard. */
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
