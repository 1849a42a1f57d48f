import { type FarmConnection, modelQueueName, type QueueSample, QueueSamples } from "@wgp-farm/queue";

const HOUR_MS = 3_600_000;
/** Completed jobs read per model for the generation time statistics. */
const TIMING_SAMPLE = 200;

export interface GenerationStats {
  model: string;
  resolution: string;
  count: number;
  median_s: number;
  p95_s: number;
}

export interface FarmCharts {
  from: number;
  to: number;
  /** Completed tasks per hour, per model: `counts[i]` is the hour starting at `from + i h`. */
  completed_per_hour: { model: string; counts: number[] }[];
  queue_samples: QueueSample[];
  generation: GenerationStats[];
}

/** The value below which `share` of the sorted values lie (nearest rank). */
export function quantile(sorted: readonly number[], share: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Completed tasks per hour, counted on BullMQ's completed set, whose scores are finish times. */
async function completedPerHour(
  farm: FarmConnection,
  models: readonly string[],
  from: number,
  hours: number,
) {
  const pipeline = farm.redis.pipeline();
  for (const model of models) {
    const key = farm.queues.byName(modelQueueName(model)).keys.completed as string;
    for (let hour = 0; hour < hours; hour += 1) {
      pipeline.zcount(key, from + hour * HOUR_MS, `(${from + (hour + 1) * HOUR_MS}`);
    }
  }
  const replies = (await pipeline.exec()) ?? [];
  return models.map((model, m) => ({
    model,
    counts: replies.slice(m * hours, (m + 1) * hours).map(([, count]) => Number(count)),
  }));
}

/** Generation time per model and resolution over each model's latest completed tasks. */
async function generationStats(farm: FarmConnection, models: readonly string[]): Promise<GenerationStats[]> {
  const stats: GenerationStats[] = [];
  for (const model of models) {
    const jobs = await farm.queues.forModel(model).getJobs(["completed"], 0, TIMING_SAMPLE - 1);
    const byResolution = new Map<string, number[]>();
    for (const job of jobs) {
      const seconds = job?.returnvalue?.timings?.generation_s;
      if (typeof seconds !== "number") continue;
      const resolution = String(job.data?.task?.resolution ?? "default");
      byResolution.set(resolution, [...(byResolution.get(resolution) ?? []), seconds]);
    }
    for (const [resolution, values] of byResolution) {
      const sorted = values.sort((a, b) => a - b);
      stats.push({
        model,
        resolution,
        count: sorted.length,
        median_s: quantile(sorted, 0.5),
        p95_s: quantile(sorted, 0.95),
      });
    }
  }
  return stats;
}

export async function readFarmCharts(
  farm: FarmConnection,
  hours: number,
  now = Date.now(),
): Promise<FarmCharts> {
  const to = Math.ceil(now / HOUR_MS) * HOUR_MS;
  const from = to - hours * HOUR_MS;
  const models = (await farm.queues.knownModels()).sort();
  const [completed, samples, generation] = await Promise.all([
    completedPerHour(farm, models, from, hours),
    new QueueSamples(farm.redis, farm.keys).since(now - hours * HOUR_MS),
    generationStats(farm, models),
  ]);
  return { from, to, completed_per_hour: completed, queue_samples: samples, generation };
}
