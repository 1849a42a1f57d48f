import { UnknownModelError, UnknownQueueError } from "../errors.js";
import type { FarmConnection } from "../records/farm-connection.js";
import { modelOfQueue, modelQueueName } from "../records/farm-keys.js";

export interface QueuePauseState {
  queue: string;
  /** The model type of a model queue; null for the stitch queue. */
  model: string | null;
  paused: boolean;
}

/** Which queues an operation acts on; every queue tasks wait in when neither list names one. */
export interface QueueSelection {
  /** Model types: their `model.<model_type>` queues. */
  models?: readonly string[] | undefined;
  /** Queues by name (`model.<model_type>`, `stitch`). */
  queues?: readonly string[] | undefined;
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
 * The names of the queues selected, each once, checked against the queues tasks wait in: the
 * models' queues, then the queues named; every such queue when nothing is named.
 */
export async function resolveQueues(farm: FarmConnection, selection: QueueSelection = {}): Promise<string[]> {
  const models = selection.models ?? [];
  const queues = selection.queues ?? [];
  if (models.length === 0 && queues.length === 0) return farm.queues.taskQueueNames();
  const byModel = models.length > 0 ? (await resolveModels(farm, models)).map(modelQueueName) : [];
  if (queues.length > 0) {
    const known = await farm.queues.taskQueueNames();
    const unknown = queues.filter((queue) => !known.includes(queue));
    if (unknown.length > 0) {
      throw new UnknownQueueError(
        `no queue ${unknown.map((q) => `'${q}'`).join(", ")} (known: ${known.join(", ") || "none"})`,
      );
    }
  }
  return [...new Set([...byModel, ...queues])];
}

/**
 * Pauses or resumes queues (every queue tasks wait in, the stitch queue included, when none is
 * selected). A paused queue hands out no new jobs; running jobs finish. Workers everywhere see it at
 * once: the flag lives in Redis.
 */
export async function setQueuesPaused(
  farm: FarmConnection,
  paused: boolean,
  selection: QueueSelection = {},
): Promise<QueuePauseState[]> {
  const targets = await resolveQueues(farm, selection);
  return Promise.all(
    targets.map(async (name) => {
      const queue = farm.queues.byName(name);
      const model = modelOfQueue(name) ?? null;
      if (paused) await queue.pause();
      else {
        await queue.resume();
        // Slots wait on the farm's wake-ups, not on BullMQ: as many as tasks now waiting, like that
        // many arrivals at once. The stitch runner is a plain BullMQ worker, woken by BullMQ's resume.
        if (model !== null) {
          const waiting = await queue.getJobCountByTypes("wait", "prioritized");
          await farm.work.announce(
            Array.from({ length: Math.max(1, waiting) }, () => model),
            "resume",
          );
        }
      }
      return { queue: name, model, paused: await queue.isPaused() };
    }),
  );
}
