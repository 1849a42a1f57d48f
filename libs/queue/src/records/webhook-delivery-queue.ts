import type { FarmConnection, FarmEvent } from "@wgp-farm/queue";
import { type JobsOptions, Queue } from "bullmq";

/**
 * The webhook delivery queue and its retry policy, shared by `wgp-farm api` (which runs the
 * deliveries) and whoever sends one again (the CLI, the dashboard).
 */

/**
 * The delivery queue. Its name is not `model.*` and it is not in the farm's model set, so no GPU slot
 * ever fetches from it: deliveries are run by the API process (`wgp-farm api`), never by a worker.
 */
export const WEBHOOK_QUEUE = "farm.webhooks";

/** The custom backoff type of delivery jobs (`WebhookRetryPolicy`). */
export const WEBHOOK_BACKOFF = "webhook";

export interface DeliveryJobData {
  subscription_id: string;
  url: string;
  event: FarmEvent;
}

/** Exponential backoff from `minBackoffMs` doubling up to `maxBackoffMs`, for about `retryForMs` in all. */
export interface WebhookRetryPolicy {
  minBackoffMs: number;
  maxBackoffMs: number;
  retryForMs: number;
}

export const DEFAULT_WEBHOOK_RETRY: WebhookRetryPolicy = {
  minBackoffMs: 5_000,
  maxBackoffMs: 3_600_000,
  retryForMs: 24 * 3_600_000,
};

/** The delivery queue on the farm's connection (close it when done). */
export function webhookQueueOf(farm: FarmConnection): Queue<DeliveryJobData> {
  return new Queue<DeliveryJobData>(WEBHOOK_QUEUE, { connection: farm.redis, prefix: farm.keys.prefix });
}

/** Wait before the attempt after `attemptsMade` failed ones. */
export function backoffDelay(attemptsMade: number, policy: WebhookRetryPolicy): number {
  const exponent = Math.min(Math.max(attemptsMade - 1, 0), 40);
  return Math.min(policy.maxBackoffMs, policy.minBackoffMs * 2 ** exponent);
}

/** Attempts that fit in `retryForMs` of backoff (at least one). */
export function attemptsWithin(policy: WebhookRetryPolicy): number {
  let attempts = 1;
  let waited = 0;
  while (attempts < 1_000) {
    const next = backoffDelay(attempts, policy);
    if (waited + next > policy.retryForMs) break;
    waited += next;
    attempts += 1;
  }
  return attempts;
}

/** One delivery per event and subscription: a re-read event is never enqueued twice. */
export function deliveryIdOf(eventId: string, subscriptionId: string): string {
  return `${eventId}.${subscriptionId}`;
}

export function deliveryJobOptions(policy: WebhookRetryPolicy): JobsOptions {
  return {
    attempts: attemptsWithin(policy),
    backoff: { type: WEBHOOK_BACKOFF },
    removeOnComplete: { count: 10_000 },
    // Dead-lettered deliveries stay (with their attempts in the delivery log) for `send-again`.
    removeOnFail: { count: 10_000 },
  };
}

/**
 * Sends a delivery again (`wgp-farm webhook send-again`): a new job with the same event and target
 * and a fresh count of attempts. Null when the delivery is no longer known.
 */
export async function sendAgain(
  queue: Queue<DeliveryJobData>,
  deliveryId: string,
  policy: WebhookRetryPolicy = DEFAULT_WEBHOOK_RETRY,
): Promise<string | null> {
  const source = await queue.getJob(deliveryId);
  if (!source) return null;
  const id = `${deliveryId}.again-${Date.now()}`;
  await queue.add("delivery", source.data, { ...deliveryJobOptions(policy), jobId: id });
  return id;
}
