/** The default key prefix of every wgp-farm key and BullMQ queue in Redis. */
export const DEFAULT_PREFIX = "wgp";

export const MODEL_QUEUE_PREFIX = "model.";
export const QUARANTINE_QUEUE = "quarantine";

/** `model.<model_type>`: one BullMQ queue per WanGP model type (DESIGN.md: model affinity). */
export function modelQueueName(modelType: string): string {
  return `${MODEL_QUEUE_PREFIX}${modelType}`;
}

export function modelOfQueue(queueName: string): string | undefined {
  return queueName.startsWith(MODEL_QUEUE_PREFIX) ? queueName.slice(MODEL_QUEUE_PREFIX.length) : undefined;
}

/**
 * Names of wgp-farm's own Redis keys, next to BullMQ's under the same prefix. With a hash-tag prefix
 * such as `{wgp}`, every key lands in one Redis Cluster slot, as BullMQ's scripts need.
 */
export class FarmKeys {
  constructor(readonly prefix: string = DEFAULT_PREFIX) {}

  /** Hash task_id → queue name: keeps task ids unique across model queues. */
  get taskIndex(): string {
    return `${this.prefix}:farm:task-index`;
  }

  /** Hash output_sub_dir → task_id: one task per output folder. */
  get outputDirs(): string {
    return `${this.prefix}:farm:output-dirs`;
  }

  /** Set of model types that have a queue, so that workers and the dashboard find queues without SCAN. */
  get models(): string {
    return `${this.prefix}:farm:models`;
  }

  /** Hash task_id → JSON record of a task cancelled before it ran (its job is gone; the record stays). */
  get cancelled(): string {
    return `${this.prefix}:farm:cancelled`;
  }
}
