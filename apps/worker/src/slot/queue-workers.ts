import { bestEffort, type Logger } from "@wgp-farm/config";
import { redisErrorListener, type TaskJobData } from "@wgp-farm/queue";
import { type Job, Worker } from "bullmq";
import type { Redis } from "ioredis";

export interface QueueWorkerSettings {
  prefix: string;
  /** BullMQ worker name: `processedBy` of its jobs and its name in Bull Board's workers panel. */
  name: string;
  lockDurationMs: number;
  stalledIntervalMs: number;
  /** Run BullMQ's stalled-job checker on each queue (one set per process does). */
  checkStalled: boolean;
  /** Called for each job the stalled checker put back in its queue. */
  onStalled?(queueName: string, jobId: string): void;
}

/**
 * BullMQ stalls a job more than `maxStalledCount` times into a failure, whatever `attempts` says. The
 * farm quarantines such a job itself (with its history), so BullMQ's own limit is set out of reach.
 */
export const UNLIMITED_STALLS = 1_000_000;

/** A manual-fetch Worker whose fetches name the slot that takes the job (BullMQ's `processedBy`). */
class SharedFetchWorker extends Worker<TaskJobData> {
  /** Takes the next job, if any, without blocking, for `slotName` under its `token`. */
  async fetchFor(token: string, slotName: string): Promise<Job<TaskJobData> | undefined> {
    if (this.closing) return undefined;
    return this.moveToActive(token, slotName);
  }
}

/**
 * One manual-fetch BullMQ Worker (no processor) per queue, created on first use and sharing the
 * process's Redis connection for commands (each Worker opens one blocking connection of its own,
 * never used: fetches do not block). One set per process: its slots fetch through it, each with a
 * token of its own, and it runs the stalled checker on every model queue, so a dead worker's job is
 * re-queued even when nobody here fetches from its queue. Connections grow with processes × queues,
 * not with slots.
 */
export class QueueWorkerSet {
  readonly #workers = new Map<string, SharedFetchWorker>();

  readonly #connection: Redis;
  readonly #settings: QueueWorkerSettings;
  readonly #logger: Logger;

  constructor(connection: Redis, settings: QueueWorkerSettings, logger: Logger) {
    this.#connection = connection;
    this.#settings = settings;
    this.#logger = logger;
  }

  /** Takes the next job of `queueName`, if any, for the slot `slotName` (its `processedBy`). */
  fetch(queueName: string, token: string, slotName: string): Promise<Job<TaskJobData> | undefined> {
    return this.get(queueName).fetchFor(token, slotName);
  }

  get(queueName: string): SharedFetchWorker {
    let worker = this.#workers.get(queueName);
    if (!worker) {
      worker = new SharedFetchWorker(queueName, null, {
        connection: this.#connection,
        prefix: this.#settings.prefix,
        name: this.#settings.name,
        lockDuration: this.#settings.lockDurationMs,
        stalledInterval: this.#settings.stalledIntervalMs,
        maxStalledCount: UNLIMITED_STALLS,
        skipStalledCheck: !this.#settings.checkStalled,
        skipLockRenewal: true,
        autorun: false,
      });
      worker.on("error", redisErrorListener(this.#connection, `BullMQ worker of ${queueName}`));
      if (this.#settings.checkStalled) {
        worker.on("stalled", (jobId) => {
          this.#logger.warn({ task_id: jobId, queue: queueName }, "job stalled (its worker died); re-queued");
          this.#settings.onStalled?.(queueName, jobId);
        });
        void worker.startStalledCheckTimer();
      }
      this.#workers.set(queueName, worker);
    }
    return worker;
  }

  /** Makes sure every queue named has its worker (and stalled checker). */
  watch(queueNames: Iterable<string>): void {
    for (const name of queueNames) this.get(name);
  }

  async close(): Promise<void> {
    const workers = [...this.#workers.values()];
    this.#workers.clear();
    await Promise.all(
      workers.map((worker) => bestEffort(worker.close(true), this.#logger, "closing a BullMQ worker")),
    );
  }
}
