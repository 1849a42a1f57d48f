import { setInterval as every } from "node:timers/promises";
import { bestEffort, type Logger } from "@wgp-farm/config";
import {
  type FarmConnection,
  QUEUE_SAMPLE_EVERY_MS,
  QueueSamples,
  readQueueOverviews,
} from "@wgp-farm/queue";

/** Takes one sample of the model queues' depth and oldest wait now. */
export async function sampleQueues(farm: FarmConnection, now = Date.now()): Promise<boolean> {
  const overviews = await readQueueOverviews(farm, now);
  const queues = overviews
    .filter((overview) => overview.model !== null)
    .map((overview) => ({
      model: overview.model as string,
      queued: overview.queued,
      oldest_wait_s: overview.oldest_wait_s,
    }));
  return new QueueSamples(farm.redis, farm.keys).record({ at: now, queues });
}

/**
 * Samples the queues once a minute while the dashboard runs. The dashboard does it, not the workers:
 * it already reads the queue overview for its pages, one process samples rather than every slot of
 * every host, and a sample per minute is kept once however many dashboards run.
 */
export class QueueSampler {
  readonly #stop = new AbortController();
  readonly #done: Promise<void>;

  constructor(farm: FarmConnection, logger: Logger, everyMs = QUEUE_SAMPLE_EVERY_MS) {
    this.#done = (async () => {
      await bestEffort(sampleQueues(farm), logger, "sampling the queues", "warn");
      try {
        for await (const _ of every(everyMs, undefined, { signal: this.#stop.signal, ref: false })) {
          await bestEffort(sampleQueues(farm), logger, "sampling the queues", "warn");
        }
      } catch (error) {
        if ((error as Error).name !== "AbortError") throw error;
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#done;
  }
}
