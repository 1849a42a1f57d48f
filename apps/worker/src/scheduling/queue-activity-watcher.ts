import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@wgp-farm/config";
import { type FarmKeys, modelQueueName, settleWithin } from "@wgp-farm/queue";
import { QueueKeys } from "bullmq";
import type { Redis } from "ioredis";
import type { WakeSignal } from "./wake-signal.js";

/**
 * BullMQ events that mean a job may be ready to fetch: an add (any producer: importer, Bull Board,
 * the CLI), a retry, a stalled job put back, a promotion, a resumed queue. `delayed` carries the time
 * its job becomes ready.
 */
const WAKE_EVENTS: ReadonlySet<string> = new Set(["waiting", "delayed", "stalled", "resumed", "added"]);

type StreamReply = [stream: string, entries: [id: string, fields: string[]][]][] | null;

/** Streams are read from an id made of a time (ms): an entry id is `<ms>-<seq>` on the Redis clock. */
function idAt(ms: number): string {
  return `${ms}-0`;
}

/**
 * Wakes idle slots the moment work appears, without polling: one blocking XREAD (its own
 * connection) on every model queue's BullMQ event stream, plus the farm's model stream (a new model
 * queue is watched at once). The XREAD timeout doubles as the slow fallback that re-reads the model
 * list. A `delayed` event (retry backoff) arms a timer for when its job becomes ready.
 */
export class QueueActivityWatcher {
  readonly #redis: Redis;
  readonly #keys: FarmKeys;
  /** BullMQ's key layout of its queues. */
  readonly #queueKeys: QueueKeys;
  readonly #wake: WakeSignal;
  readonly #logger: Logger;
  readonly #refreshMs: number;
  readonly #lastIds = new Map<string, string>();
  readonly #timers = new Map<number, NodeJS.Timeout>();
  #models: string[] = [];
  #closed = false;
  #loop: Promise<void> | undefined;
  readonly #onModels = new Set<(models: readonly string[]) => void>();
  readonly #onStalled = new Set<(taskIds: readonly string[]) => Promise<void>>();

  constructor(redis: Redis, keys: FarmKeys, wake: WakeSignal, logger: Logger, refreshMs = 5_000) {
    this.#redis = redis;
    this.#keys = keys;
    this.#queueKeys = new QueueKeys(keys.prefix);
    this.#wake = wake;
    this.#logger = logger;
    this.#refreshMs = refreshMs;
  }

  /** The model types that have a queue, as last read. */
  get models(): readonly string[] {
    return this.#models;
  }

  /** Called with the full list whenever a model queue appears. */
  onModelsChanged(listener: (models: readonly string[]) => void): void {
    this.#onModels.add(listener);
  }

  /** Called with the ids of jobs the stalled checker re-queued, before idle slots are woken for them. */
  onStalled(listener: (taskIds: readonly string[]) => Promise<void>): void {
    this.#onStalled.add(listener);
  }

  async start(): Promise<void> {
    const now = await this.#redisNowMs();
    this.#lastIds.set(this.#keys.modelEvents, idAt(now));
    await this.#refreshModels(idAt(now));
    this.#loop = this.#run();
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#redis.disconnect();
    // A command queued while Redis was away may never settle: the loop is not waited for long.
    await settleWithin(this.#loop ?? Promise.resolve(), 1_000);
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      const streams = [this.#keys.modelEvents, ...this.#models.map((m) => this.#eventsKey(m))];
      const ids = streams.map((stream) => this.#lastIds.get(stream) ?? "$");
      let reply: StreamReply;
      try {
        reply = (await this.#redis.xread(
          "COUNT",
          1000,
          "BLOCK",
          this.#refreshMs,
          "STREAMS",
          ...streams,
          ...ids,
        )) as StreamReply;
      } catch (error) {
        if (this.#closed) return;
        this.#logger.warn({ err: error }, "reading queue events failed; retrying");
        await sleep(1_000);
        continue;
      }
      if (reply === null) {
        await this.#refreshModels(idAt(await this.#redisNowMs())).catch((error) =>
          this.#logger.warn({ err: error }, "reading the model list failed"),
        );
        continue;
      }
      await this.#handle(reply);
    }
  }

  async #handle(reply: NonNullable<StreamReply>): Promise<void> {
    let wake = false;
    const models = new Set<string>();
    const stalled: string[] = [];
    for (const [stream, entries] of reply) {
      const last = entries.at(-1);
      if (last) this.#lastIds.set(stream, last[0]);
      if (stream === this.#keys.modelEvents) {
        // Entries written by the importer before it added the jobs: start reading the new streams there.
        const first = entries[0];
        if (first) await this.#refreshModels(idAt(Number(first[0].split("-")[0])));
        continue;
      }
      for (const [, fields] of entries) {
        const event = fields[1];
        if (!event || !WAKE_EVENTS.has(event)) continue;
        if (event === "delayed") this.#wakeAt(Number(fieldOf(fields, "delay")));
        else wake = true;
        if (event === "waiting") models.add(this.#modelOfStream(stream));
        if (event === "stalled") stalled.push(fieldOf(fields, "jobId") ?? "");
      }
    }
    if (stalled.length > 0) {
      await Promise.all([...this.#onStalled].map((listener) => listener(stalled))).catch((error) =>
        this.#logger.warn({ err: error }, "handling stalled jobs failed"),
      );
    }
    if (wake) {
      this.#logger.debug({ models: [...models] }, "queue activity: waking idle slots");
      this.#wake.notify(models);
    }
  }

  async #refreshModels(startId: string): Promise<void> {
    const models = (await this.#redis.smembers(this.#keys.models)).sort();
    const added = models.filter((model) => !this.#models.includes(model));
    if (added.length === 0) return;
    for (const model of added) this.#lastIds.set(this.#eventsKey(model), startId);
    this.#models = models;
    for (const listener of this.#onModels) listener(models);
    this.#wake.notify();
  }

  /** One timer per ready time (to the 100 ms): a burst of retries does not arm a timer each. */
  #wakeAt(readyAt: number): void {
    if (!Number.isFinite(readyAt)) return;
    const slot = Math.ceil(readyAt / 100) * 100;
    if (this.#timers.has(slot)) return;
    const timer = setTimeout(
      () => {
        this.#timers.delete(slot);
        this.#wake.notify();
      },
      Math.max(0, slot - Date.now()),
    );
    timer.unref();
    this.#timers.set(slot, timer);
  }

  #eventsKey(model: string): string {
    return this.#queueKeys.toKey(modelQueueName(model), "events");
  }

  #modelOfStream(stream: string): string {
    return this.#models.find((model) => this.#eventsKey(model) === stream) ?? "";
  }

  async #redisNowMs(): Promise<number> {
    const [seconds, micros] = await this.#redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }
}

function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}
