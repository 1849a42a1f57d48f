import { readRecord } from "@wgp-farm/config";
import type { Redis } from "ioredis";
import { z } from "zod";
import type { FarmKeys } from "./farm-keys.js";

/** One minute's look at the model queues: how many tasks wait and for how long the oldest has. */
export const QueueSampleSchema = z.object({
  at: z.number(),
  queues: z.array(z.object({ model: z.string(), queued: z.number(), oldest_wait_s: z.number().nullable() })),
});
export type QueueSample = z.output<typeof QueueSampleSchema>;

/** Samples older than this are dropped as new ones come. */
export const QUEUE_SAMPLE_RETENTION_MS = 24 * 3_600_000;
export const QUEUE_SAMPLE_EVERY_MS = 60_000;

/**
 * The history of queue depth and oldest wait, one sample a minute kept for a day (a hash minute →
 * sample). Whoever writes first in a minute wins, so that two dashboards do not double the points.
 */
export class QueueSamples {
  readonly #redis: Redis;
  readonly #keys: FarmKeys;

  constructor(redis: Redis, keys: FarmKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  /** Records the sample under its minute unless one is there; drops samples past retention. */
  async record(sample: QueueSample): Promise<boolean> {
    const minute = Math.floor(sample.at / QUEUE_SAMPLE_EVERY_MS) * QUEUE_SAMPLE_EVERY_MS;
    const written = await this.#redis.hsetnx(this.#keys.queueSamples, String(minute), JSON.stringify(sample));
    if (written === 1) {
      const expired = (await this.#redis.hkeys(this.#keys.queueSamples)).filter(
        (field) => Number(field) < sample.at - QUEUE_SAMPLE_RETENTION_MS,
      );
      if (expired.length > 0) await this.#redis.hdel(this.#keys.queueSamples, ...expired);
    }
    return written === 1;
  }

  /** Samples since `from` (ms), oldest first. */
  async since(from: number): Promise<QueueSample[]> {
    const all = await this.#redis.hgetall(this.#keys.queueSamples);
    return Object.entries(all)
      .filter(([minute]) => Number(minute) >= from - QUEUE_SAMPLE_EVERY_MS)
      .map(([, raw]) => readRecord(QueueSampleSchema, raw, "queue sample"))
      .filter((sample): sample is QueueSample => sample !== undefined && sample.at >= from)
      .sort((a, b) => a.at - b.at);
  }
}
