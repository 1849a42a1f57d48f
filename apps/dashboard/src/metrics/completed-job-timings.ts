import { readRecord } from "@wgp-farm/config";
import { type FarmConnection, modelOfQueue } from "@wgp-farm/queue";
import type { Histogram } from "prom-client";
import { z } from "zod";

export interface TimingHistograms {
  queueWait: Histogram<"model">;
  modelLoad: Histogram<"model">;
  generation: Histogram<"model">;
}

interface Cursor {
  /** finishedOn (ms) of the newest job observed. */
  finishedOn: number;
  /** Ids observed at exactly that millisecond (the next read starts at it, inclusive). */
  idsAtCursor: Set<string>;
}

const PAGE = 500;

/** A timing the worker did not measure (or wrote in another shape) is left out, the others kept. */
const seconds = z.number().optional().catch(undefined);

/** The part of a completed job's result (the worker's manifest, its `returnvalue`) the histograms need. */
const CompletedTimingsSchema = z.object({
  timings: z.object({ queue_wait_s: seconds, model_load_s: seconds, generation_s: seconds }),
});
type CompletedTimings = z.output<typeof CompletedTimingsSchema>["timings"];

function timingsOf(raw: string | null): CompletedTimings | null {
  return raw ? (readRecord(CompletedTimingsSchema, raw, "completed job result")?.timings ?? null) : null;
}

/**
 * Feeds the timing histograms from the result of every completed job, read from each queue's
 * completed set in the order jobs finished (its score is the finish time), from a cursor per queue.
 *
 * On start the cursor is empty, so every completed job Redis still keeps is observed once: the
 * histograms describe the retained history, and a restarted dashboard rebuilds the same counts
 * instead of starting from zero (Prometheus sees no reset unless jobs were cleaned in between).
 */
export class CompletedJobTimings {
  private readonly cursors = new Map<string, Cursor>();
  private running: Promise<void> | null = null;

  constructor(
    private readonly farm: FarmConnection,
    private readonly histograms: TimingHistograms,
  ) {}

  /** Observes the jobs completed since the last call; concurrent callers share one pass. */
  catchUp(queueNames: readonly string[]): Promise<void> {
    this.running ??= this.readAll(queueNames).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async readAll(queueNames: readonly string[]): Promise<void> {
    for (const name of queueNames) {
      const model = modelOfQueue(name);
      if (model) await this.readQueue(name, model);
    }
  }

  private async readQueue(queueName: string, model: string): Promise<void> {
    const queue = this.farm.queues.byName(queueName);
    const completedKey = queue.toKey("completed");
    const cursor = this.cursors.get(queueName) ?? { finishedOn: 0, idsAtCursor: new Set<string>() };
    for (;;) {
      const limit = PAGE + cursor.idsAtCursor.size;
      const flat = await this.farm.redis.zrangebyscore(
        completedKey,
        cursor.finishedOn,
        "+inf",
        "WITHSCORES",
        "LIMIT",
        0,
        limit,
      );
      const fresh: { id: string; finishedOn: number }[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const id = flat[i] as string;
        const finishedOn = Number(flat[i + 1]);
        if (!(finishedOn === cursor.finishedOn && cursor.idsAtCursor.has(id))) fresh.push({ id, finishedOn });
      }
      if (fresh.length === 0) break;
      const pipeline = this.farm.redis.pipeline();
      for (const { id } of fresh) pipeline.hget(queue.toKey(id), "returnvalue");
      const replies = (await pipeline.exec()) ?? [];
      fresh.forEach(({ id, finishedOn }, i) => {
        this.observe(model, timingsOf((replies[i]?.[1] as string | null) ?? null));
        if (finishedOn > cursor.finishedOn) {
          cursor.finishedOn = finishedOn;
          cursor.idsAtCursor = new Set();
        }
        cursor.idsAtCursor.add(id);
      });
      this.cursors.set(queueName, cursor);
      if (flat.length / 2 < limit) break;
    }
  }

  private observe(model: string, timings: CompletedTimings | null): void {
    if (!timings) return;
    const { queue_wait_s: wait, model_load_s: load, generation_s: generation } = timings;
    if (wait !== undefined) this.histograms.queueWait.observe({ model }, wait);
    // A job that found its model loaded had no load: only real loads go into this histogram.
    if (load !== undefined && load > 0) this.histograms.modelLoad.observe({ model }, load);
    if (generation !== undefined) this.histograms.generation.observe({ model }, generation);
  }
}
