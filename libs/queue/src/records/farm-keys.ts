import { type KeysMap, QueueKeys } from "bullmq";

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
 * Names of wgp-farm's own Redis keys, next to BullMQ's under the same prefix, and BullMQ's keys as
 * BullMQ itself builds them (`QueueKeys`), so that no one spells out BullMQ's layout by hand. With a
 * hash-tag prefix such as `{wgp}`, every key lands in one Redis Cluster slot, as BullMQ's scripts need.
 */
export class FarmKeys {
  readonly #bullmq: QueueKeys;

  constructor(readonly prefix: string = DEFAULT_PREFIX) {
    this.#bullmq = new QueueKeys(prefix);
  }

  /** One of the farm's own keys: `<prefix>:farm:<name>`. */
  #farm(name: string): string {
    return `${this.prefix}:farm:${name}`;
  }

  /** Hash task_id → queue name: keeps task ids unique across model queues. */
  get taskIndex(): string {
    return this.#farm("task-index");
  }

  /** Hash output_sub_dir → task_id: one task per output folder. */
  get outputDirs(): string {
    return this.#farm("output-dirs");
  }

  /** Set of model types that have a queue, so that workers and the dashboard find queues without SCAN. */
  get models(): string {
    return this.#farm("models");
  }

  /** Hash task_id → JSON record of a task cancelled before it ran (its job is gone; the record stays). */
  get cancelled(): string {
    return this.#farm("cancelled");
  }

  /** Sorted set slot_id → last publish (ms): the index of the slot status keys (`SlotRegistry`). */
  get slots(): string {
    return this.#farm("slots");
  }

  /** One GPU slot's status (JSON, with a TTL so that a dead host disappears). */
  slot(slotId: string): string {
    return this.#farm(`slot:${slotId}`);
  }

  /** Hash of farm-wide counters (`FarmStats`). */
  get stats(): string {
    return this.#farm("stats");
  }

  /** Pub/sub channel on which cancel requests reach the slot running the task, wherever it is. */
  get cancelChannel(): string {
    return this.#farm("cancel");
  }

  /** Flag (with a TTL) saying that a cancel of the task was requested; slots also check it themselves. */
  cancelRequest(taskId: string): string {
    return this.#farm(`cancel-request:${taskId}`);
  }

  /** Sorted set slot_id → expiry (ms): slots about to load `model`, so that two do not switch for one backlog. */
  switchClaims(modelType: string): string {
    return this.#farm(`switch-claims:${modelType}`);
  }

  /** Hash task_id → JSON list of the task's attempts (slot, start, outcome), kept until the task ends. */
  get attemptHistory(): string {
    return this.#farm("attempt-history");
  }

  /** Which attempt claimed the right to publish the task's output (JSON, `PublishClaims`), with a TTL. */
  publishClaim(taskId: string): string {
    return this.#farm(`publish-claim:${taskId}`);
  }

  /** List of the task's attempts that lost the job before publishing (JSON each, `LostAttempts`), with a TTL. */
  lostAttempts(taskId: string): string {
    return this.#farm(`lost-attempts:${taskId}`);
  }

  /** Stream with one entry per newly registered model type, so that idle workers watch its queue at once. */
  get modelEvents(): string {
    return this.#farm("model-events");
  }

  /**
   * Stream of "work may be ready" entries (`WorkSignal`): written by adds, retries, stalls, requeues
   * and resumes only, never by progress, so idle workers wake with the work and not with the farm.
   */
  get workSignal(): string {
    return this.#farm("work");
  }

  /** Lease (with a TTL) held by the one worker process whose idle slot re-reads every queue this round. */
  get recheckTurn(): string {
    return this.#farm("recheck-turn");
  }

  /** Sorted set slot_id → expiry (ms): live slots holding `model` (kept by `SlotRegistry.publish`). */
  serving(modelType: string): string {
    return this.#farm(`serving:${modelType}`);
  }

  /** Hash of each model's typical load and job time (`ModelTimings`): whether a tail is worth a switch. */
  get modelTimings(): string {
    return this.#farm("model-timings");
  }

  /** Hash host → JSON record of what `wgp-farm doctor` last saw on that host (`HostRecords`). */
  get doctorHosts(): string {
    return this.#farm("doctor-hosts");
  }

  /** Sorted set host-catalog id → last publish (ms): the index of the host WanGP keys (`HostCatalogs`). */
  get wangpHosts(): string {
    return this.#farm("wangp-hosts");
  }

  /** What one host's WanGP checkout knows (JSON, with a TTL refreshed by the host's slots). */
  wangpHost(catalogId: string): string {
    return this.#farm(`wangp-host:${catalogId}`);
  }

  /** Stream of farm events (queued, started, progress, completed, …), capped: the watchers' replay log. */
  get farmEvents(): string {
    return this.#farm("events");
  }

  /** Hash task_id → JSON webhook of a task that asked for one, kept until the task ends. */
  get taskWebhooks(): string {
    return this.#farm("task-webhooks");
  }

  /** Hash subscription id → JSON farm-wide webhook subscription (`wgp-farm webhook add`). */
  get webhookSubscriptions(): string {
    return this.#farm("webhook-subscriptions");
  }

  /** The secret that signs tasks' own webhooks (one per farm, made on first use). */
  get taskWebhookSecret(): string {
    return this.#farm("task-webhook-secret");
  }

  /** List of the latest deliveries to one subscription (newest first, capped). */
  webhookDeliveries(subscriptionId: string): string {
    return this.#farm(`webhook-deliveries:${subscriptionId}`);
  }

  /** BullMQ's keys of one queue (`wait`, `active`, `meta`, `events`, …; `""` is the queue's own base). */
  queueKeys(queueName: string): KeysMap {
    return this.#bullmq.getKeys(queueName);
  }

  /** The hash of one BullMQ job. */
  jobKey(queueName: string, jobId: string): string {
    return this.#bullmq.toKey(queueName, jobId);
  }

  /** The lock a worker holds on a job while it runs it (its value is the worker's token), as BullMQ names it. */
  jobLockKey(queueName: string, jobId: string): string {
    return `${this.jobKey(queueName, jobId)}:lock`;
  }

  /** The set of a queue's active jobs that the stalled checker will re-queue unless their lock is renewed. */
  stalledKey(queueName: string): string {
    return this.#bullmq.toKey(queueName, "stalled");
  }

  /** The stream of a queue's events (what `QueueEvents` reads; a blocked reader wakes on a new entry). */
  queueEventsKey(queueName: string): string {
    return this.#bullmq.toKey(queueName, "events");
  }

  /** Hash task_id → JSON search document (model, prompt, import time): the farm's task search (`TaskSearchIndex`). */
  get searchDocs(): string {
    return this.#farm("search-docs");
  }

  /** Sorted set task_id → import time (ms): the search index in time order. */
  get searchTimes(): string {
    return this.#farm("search-times");
  }

  /** Set once every task imported before the search index existed has been indexed. */
  get searchBackfilled(): string {
    return this.#farm("search-backfilled");
  }

  /** Sorted set of queue samples (depth and oldest wait per model) by minute, for the dashboard's charts. */
  get queueSamples(): string {
    return this.#farm("queue-samples");
  }
}
