import type { Logger } from "@wgp-farm/config";
import {
  type DeliveryJobData,
  DeliveryLog,
  type FarmConnection,
  type FarmEvents,
  webhookQueueOf,
} from "@wgp-farm/queue";
import type { Queue } from "bullmq";
import { WebhookDeliveries, type WebhookDeliveryOptions } from "./webhook-deliveries.js";
import { WebhookDispatcher } from "./webhook-dispatcher.js";
import { WebhookSubscriptions } from "./webhook-subscriptions.js";

/** The webhook side of `wgp-farm api`: the dispatcher (events → delivery jobs) and the deliveries. */
export class WebhookService {
  readonly #dispatcher: WebhookDispatcher;
  readonly #deliveries: WebhookDeliveries;
  readonly #queue: Queue<DeliveryJobData>;

  private constructor(
    dispatcher: WebhookDispatcher,
    deliveries: WebhookDeliveries,
    queue: Queue<DeliveryJobData>,
  ) {
    this.#dispatcher = dispatcher;
    this.#deliveries = deliveries;
    this.#queue = queue;
  }

  static async start(
    farm: FarmConnection,
    log: FarmEvents,
    options: WebhookDeliveryOptions,
    logger: Logger,
  ): Promise<WebhookService> {
    const subscriptions = new WebhookSubscriptions(farm.redis, farm.keys);
    const deliveries = new WebhookDeliveries(
      farm.redis,
      farm.keys,
      { subscriptions, log: new DeliveryLog(farm.redis, farm.keys) },
      options,
      logger,
    );
    const queue = webhookQueueOf(farm);
    const dispatcher = new WebhookDispatcher(
      farm.redis.duplicate(),
      { log, subscriptions, queue },
      options.retry,
      logger,
    );
    await Promise.all([deliveries.waitUntilReady(), dispatcher.start()]);
    return new WebhookService(dispatcher, deliveries, queue);
  }

  async close(): Promise<void> {
    await Promise.all([this.#dispatcher.stop(), this.#deliveries.close()]);
    await this.#queue.close();
  }
}
