import { bestEffort, type Logger } from "@wgp-farm/config";
import {
  backoffDelay,
  type DeliveryAttempt,
  type DeliveryJobData,
  type DeliveryLog,
  type FarmKeys,
  WEBHOOK_BACKOFF,
  WEBHOOK_QUEUE,
  type WebhookRetryPolicy,
} from "@wgp-farm/queue";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { postJson } from "./http-post.js";
import { resolveWebhookTarget, WebhookTargetError } from "./private-targets.js";
import { webhookHeaders } from "./webhook-signature.js";
import type { WebhookSubscriptions } from "./webhook-subscriptions.js";

export interface WebhookDeliveryOptions {
  retry: WebhookRetryPolicy;
  timeoutMs: number;
  concurrency: number;
  allowPrivateTargets: boolean;
  /** BullMQ lock of a delivery; a killed API's deliveries run again after about this long. */
  lockDurationMs: number;
}

class DeliveryFailed extends Error {
  override name = "DeliveryFailed";
  constructor(
    message: string,
    readonly httpStatus: number | null,
  ) {
    super(message);
  }
}

/**
 * Runs the delivery queue in the API process: each job POSTs one event, signed (Standard Webhooks),
 * to one subscription's URL after checking where it resolves; a non-2xx answer or a network error is
 * retried with exponential backoff until the policy's time is spent, then the delivery is dead-lettered
 * (kept in the queue's failed set). Every attempt lands in the subscription's delivery log.
 */
export class WebhookDeliveries {
  readonly #worker: Worker<DeliveryJobData>;
  readonly #subscriptions: WebhookSubscriptions;
  readonly #log: DeliveryLog;
  readonly #options: WebhookDeliveryOptions;
  readonly #logger: Logger;

  constructor(
    connection: Redis,
    keys: FarmKeys,
    stores: { subscriptions: WebhookSubscriptions; log: DeliveryLog },
    options: WebhookDeliveryOptions,
    logger: Logger,
  ) {
    this.#subscriptions = stores.subscriptions;
    this.#log = stores.log;
    this.#options = options;
    this.#logger = logger;
    this.#worker = new Worker<DeliveryJobData>(WEBHOOK_QUEUE, (job) => this.#deliver(job), {
      connection,
      prefix: keys.prefix,
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.lockDurationMs,
      // A killed API is not the receiver's fault: its deliveries go back to the queue, never to the dead.
      maxStalledCount: 1_000,
      settings: {
        backoffStrategy: (attemptsMade, type) =>
          type === WEBHOOK_BACKOFF ? backoffDelay(attemptsMade, options.retry) : -1,
      },
    });
    this.#worker.on("error", (error) => logger.warn({ err: error }, "webhook delivery worker error"));
  }

  async waitUntilReady(): Promise<void> {
    await this.#worker.waitUntilReady();
  }

  async close(): Promise<void> {
    await this.#worker.close(true);
  }

  async #deliver(job: Job<DeliveryJobData>): Promise<void> {
    const { subscription_id: subscriptionId, url, event } = job.data;
    const attempt = job.attemptsMade + 1;
    const startedAt = performance.now();
    const entry = (outcome: DeliveryAttempt["outcome"], status: number | null, error: string | null) => ({
      delivery_id: String(job.id),
      event_id: event.id,
      event_type: event.type,
      task_id: event.task_id,
      url,
      attempt,
      outcome,
      http_status: status,
      error,
      ms: Math.round(performance.now() - startedAt),
      at: new Date().toISOString(),
      next_attempt_at:
        outcome === "failed"
          ? new Date(Date.now() + backoffDelay(attempt, this.#options.retry)).toISOString()
          : null,
    });
    const secret = await this.#subscriptions.secretOf(subscriptionId);
    if (!secret) {
      await this.#record(subscriptionId, entry("dropped", null, "the subscription was removed"));
      return;
    }
    try {
      const target = await resolveWebhookTarget(url, this.#options.allowPrivateTargets);
      const body = JSON.stringify(event);
      const headers = webhookHeaders(secret, String(job.id), Math.floor(Date.now() / 1000), body);
      const { status } = await postJson(target, body, headers, this.#options.timeoutMs).catch(
        (error: Error) => {
          throw new DeliveryFailed(error.message, null);
        },
      );
      if (status < 200 || status > 299) throw new DeliveryFailed(`the receiver answered ${status}`, status);
      await this.#record(subscriptionId, entry("delivered", status, null));
    } catch (error) {
      const refused = error instanceof WebhookTargetError;
      const last = refused || attempt >= (job.opts.attempts ?? 1);
      const status = error instanceof DeliveryFailed ? error.httpStatus : null;
      await this.#record(subscriptionId, entry(last ? "dead" : "failed", status, (error as Error).message));
      if (refused) throw new UnrecoverableError((error as Error).message);
      throw error;
    }
  }

  async #record(subscriptionId: string, attempt: DeliveryAttempt): Promise<void> {
    await bestEffort(
      this.#log.record(subscriptionId, attempt),
      this.#logger,
      "writing the delivery log",
      "warn",
    );
  }
}
