import { UnknownModelError } from "../errors.js";
import type { FarmConnection } from "../records/farm-connection.js";
import { modelQueueName } from "../records/farm-keys.js";

export interface QueuePauseState {
  queue: string;
  model: string;
  paused: boolean;
}

/**
 * The model types named, checked against those that have a queue; every model type when none is
 * named. An unknown name is an error that lists the known ones.
 */
export async function resolveModels(farm: FarmConnection, models: readonly string[] = []): Promise<string[]> {
  const known = await farm.queues.knownModels();
  if (models.length === 0) return known;
  const unknown = models.filter((model) => !known.includes(model));
  if (unknown.length > 0) {
    throw new UnknownModelError(
      `no queue for model ${unknown.map((m) => `'${m}'`).join(", ")} (known: ${known.join(", ") || "none"})`,
    );
  }
  return [...new Set(models)];
}

/**
 * Pauses or resumes model queues (all of them when none is named). A paused queue hands out no new
 * jobs; running jobs finish. Workers everywhere see it at once: the flag lives in Redis.
 */
export async function setModelQueuesPaused(
  farm: FarmConnection,
  paused: boolean,
  models: readonly string[] = [],
): Promise<QueuePauseState[]> {
  const targets = await resolveModels(farm, models);
  return Promise.all(
    targets.map(async (model) => {
      const queue = farm.queues.forModel(model);
      if (paused) await queue.pause();
      else {
        await queue.resume();
        // As many wake-ups as tasks now waiting: a resumed queue is like that many arrivals at once.
        const waiting = await queue.getJobCountByTypes("wait", "prioritized");
        await farm.work.announce(
          Array.from({ length: Math.max(1, waiting) }, () => model),
          "resume",
        );
      }
      return { queue: modelQueueName(model), model, paused: await queue.isPaused() };
    }),
  );
}
