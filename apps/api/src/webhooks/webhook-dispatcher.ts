import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@wgp-farm/config";
import {
  type DeliveryJobData,
  deliveryIdOf,
  deliveryJobOptions,
  type FarmEvent,
  type FarmEvents,
  parseEntries,
  type StreamEntry,
  TASK_WEBHOOK_SUBSCRIPTION,
  type WebhookRetryPolicy,
} from "@wgp-farm/queue";
import { DEFAULT_WEBHOOK_EVENTS } from "@wgp-farm/tasks";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { WebhookSubscriptions } from "./webhook-subscriptions.js";

/** The consumer group every API process reads the event log in, so that each event is dispatched once. */
export const DISPATCH_GROUP = "webhooks";
const READ_COUNT = 200;
/** Events another (dead) API process read but did not dispatch are taken over after this long. */
const CLAIM_IDLE_MS = 15_000;

const ENDED: ReadonlySet<string> = new Set(["completed", "failed", "cancelled", "quarantined"]);

/**
 * Turns farm events into delivery jobs: reads the event log in a consumer group, matches each event
 * with the farm-wide subscriptions and its task's own webhook, enqueues one job per match (its id
 * made of the event and the subscription, so an event read twice is enqueued once) and only then
 * acknowledges it. An API process killed in between leaves its events pending; the next reader claims
 * them. Delivery itself runs elsewhere (WebhookDeliveries), so a slow receiver holds up nobody.
 */
export class WebhookDispatcher {
  readonly #reader: Redis;
  readonly #log: FarmEvents;
  readonly #subscriptions: WebhookSubscriptions;
  readonly #queue: Queue<DeliveryJobData>;
  readonly #retry: WebhookRetryPolicy;
  readonly #logger: Logger;
  readonly #consumer = `${hostname()}:${process.pid}`;
  readonly #stopping = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(
    reader: Redis,
    parts: { log: FarmEvents; subscriptions: WebhookSubscriptions; queue: Queue<DeliveryJobData> },
    retry: WebhookRetryPolicy,
    logger: Logger,
  ) {
    this.#reader = reader;
    this.#log = parts.log;
    this.#subscriptions = parts.subscriptions;
    this.#queue = parts.queue;
    this.#retry = retry;
    this.#logger = logger;
  }

  async start(): Promise<void> {
    try {
      // From now on: a farm's first dispatcher does not send the events of the log's past.
      await this.#reader.xgroup("CREATE", this.#log.key, DISPATCH_GROUP, "$", "MKSTREAM");
    } catch (error) {
      if (!String((error as Error).message).includes("BUSYGROUP")) throw error;
    }
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#reader.disconnect();
    await this.#loop;
  }

  async #run(): Promise<void> {
    // First what this consumer (an earlier life of it) read but did not acknowledge.
    let backlog = true;
    let lastClaim = 0;
    while (!this.#stopping.signal.aborted) {
      try {
        if (Date.now() - lastClaim > CLAIM_IDLE_MS) {
          lastClaim = Date.now();
          await this.#claimAbandoned();
        }
        const entries = await this.#read(backlog ? "0" : ">");
        if (backlog && entries.length === 0) backlog = false;
        await this.#dispatch(entries);
      } catch (error) {
        if (this.#stopping.signal.aborted) return;
        this.#logger.warn({ err: error }, "dispatching webhooks failed; trying again");
        await sleep(1_000, undefined, { signal: this.#stopping.signal }).catch(() => undefined);
      }
    }
  }

  async #read(from: "0" | ">"): Promise<StreamEntry[]> {
    const group = ["GROUP", DISPATCH_GROUP, this.#consumer, "COUNT", READ_COUNT] as const;
    const reply = (
      from === ">"
        ? await this.#reader.xreadgroup(...group, "BLOCK", 5_000, "STREAMS", this.#log.key, from)
        : await this.#reader.xreadgroup(...group, "STREAMS", this.#log.key, from)
    ) as [string, StreamEntry[]][] | null;
    return reply?.[0]?.[1] ?? [];
  }

  /** Takes over events that another API process read and never acknowledged (it died). */
  async #claimAbandoned(): Promise<void> {
    let cursor = "0-0";
    do {
      const [next, entries] = (await this.#reader.xautoclaim(
        this.#log.key,
        DISPATCH_GROUP,
        this.#consumer,
        CLAIM_IDLE_MS,
        cursor,
        "COUNT",
        READ_COUNT,
      )) as [string, StreamEntry[]];
      await this.#dispatch(entries);
      cursor = next;
    } while (cursor !== "0-0" && !this.#stopping.signal.aborted);
  }

  async #dispatch(entries: readonly StreamEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const events = parseEntries(entries, this.#logger);
    const subscriptions = await this.#subscriptions.list();
    const taskHooks = await this.#subscriptions.ofTasks([...new Set(events.map((event) => event.task_id))]);
    const jobs: { name: string; data: DeliveryJobData; opts: ReturnType<typeof deliveryJobOptions> }[] = [];
    const add = (event: FarmEvent, subscriptionId: string, url: string) =>
      jobs.push({
        name: "delivery",
        data: { subscription_id: subscriptionId, url, event },
        opts: { ...deliveryJobOptions(this.#retry), jobId: deliveryIdOf(event.id, subscriptionId) },
      });
    for (const event of events) {
      for (const subscription of subscriptions) {
        if (subscription.events.includes(event.type)) add(event, subscription.id, subscription.url);
      }
      const hook = taskHooks.get(event.task_id);
      if (hook && (hook.events ?? DEFAULT_WEBHOOK_EVENTS).includes(event.type)) {
        add(event, TASK_WEBHOOK_SUBSCRIPTION, hook.url);
      }
    }
    if (jobs.length > 0) await this.#queue.addBulk(jobs);
    const ended = events.filter((event) => ENDED.has(event.type) && event.state !== "waiting");
    await this.#subscriptions.forgetTasks(ended.map((event) => event.task_id));
    await this.#reader.xack(this.#log.key, DISPATCH_GROUP, ...entries.map(([id]) => id));
  }
}
