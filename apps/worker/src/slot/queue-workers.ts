import { setTimeout as sleep } from "node:timers/promises";
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
  /** Take part in the farm's stalled-job checks (one process per round checks every model queue). */
  checkStalled: boolean;
  /** Called with the jobs of a queue the stalled checker put back (awaited before the next queue's check). */
  onStalled?(queueName: string, jobIds: readonly string[]): Promise<void>;
}

/**
 * BullMQ stalls a job more than `maxStalledCount` times into a failure, whatever `attempts` says. The
 * farm quarantines such a job itself (with its history), so BullMQ's own limit is set out of reach.
 */
export const UNLIMITED_STALLS = 1_000_000;

/**
 * A manual-fetch Worker whose fetches name the slot that takes the job (BullMQ's `processedBy`). It
 * never blocks, so it is built without the blocking connection a BullMQ Worker opens by default: it
 * only uses the process's shared command connection.
 */
class SharedFetchWorker extends Worker<TaskJobData> {
  protected override createBackend(): void {
    this.backend = this.backendFactory(this.name, this.opts, {});
  }

  /** Takes the next job, if any, without blocking, for `slotName` under its `token`. */
  async fetchFor(token: string, slotName: string): Promise<Job<TaskJobData> | undefined> {
    if (this.closing) return undefined;
    return this.moveToActive(token, slotName);
  }

  /** One pass of BullMQ's stalled-job check on this queue: the ids it put back in the queue. */
  checkStalled(): Promise<string[]> {
    return this.backend.moveStalledJobsToWait();
  }
}

/**
 * One manual-fetch BullMQ Worker (no processor) per queue, created on first use, all on the process's
 * one Redis connection (no blocking connection: fetches do not block). One set per process: its slots
 * fetch through it, each with a token of its own. Connections do not grow with queues or slots.
 *
 * Stalled jobs: every `stalledIntervalMs` one process of the farm (whichever takes the turn, a key in
 * Redis) runs BullMQ's stalled check on every model queue, so a dead worker's job is re-queued even
 * when nobody fetches from its queue, at a cost that does not grow with the number of processes.
 */
export class QueueWorkerSet {
  readonly #workers = new Map<string, SharedFetchWorker>();

  readonly #connection: Redis;
  readonly #settings: QueueWorkerSettings;
  readonly #logger: Logger;
  readonly #stopChecks = new AbortController();
  #checks: Promise<void> | undefined;

  constructor(connection: Redis, settings: QueueWorkerSettings, logger: Logger) {
    this.#connection = connection;
    this.#settings = settings;
    this.#logger = logger;
  }

  /** The key whose holder runs this round's stalled checks. */
  get #stalledTurnKey(): string {
    return `${this.#settings.prefix}:farm:stalled-turn`;
  }

  /** Takes the next job of `queueName`, if any, for the slot `slotName` (its `processedBy`). */
  fetch(queueName: string, token: string, slotName: string): Promise<Job<TaskJobData> | undefined> {
    return this.get(queueName).fetchFor(token, slotName);
  }

  /**
   * The queue's worker; `maxStalledCount` is its stall limit in the farm's stalled checks (model
   * queues: none, the farm quarantines such jobs itself).
   */
  get(queueName: string, maxStalledCount = UNLIMITED_STALLS): SharedFetchWorker {
    let worker = this.#workers.get(queueName);
    if (!worker) {
      worker = new SharedFetchWorker(queueName, null, {
        connection: this.#connection,
        prefix: this.#settings.prefix,
        name: this.#settings.name,
        lockDuration: this.#settings.lockDurationMs,
        // Only the length of BullMQ's own per-queue check guard: shorter than the farm's round, so
        // that the guard a check leaves never makes the next round's check a no-op.
        stalledInterval: Math.max(1, Math.floor(this.#settings.stalledIntervalMs / 2)),
        maxStalledCount,
        skipStalledCheck: true,
        skipLockRenewal: true,
        autorun: false,
      });
      worker.on("error", redisErrorListener(this.#connection, `BullMQ worker of ${queueName}`));
      this.#workers.set(queueName, worker);
    }
    return worker;
  }

  /**
   * Adds `queueName`, whose jobs another BullMQ Worker runs (stitches), to the farm's stalled checks:
   * its own Worker's check would be one more script call per process per round.
   */
  checkStalledToo(queueName: string, maxStalledCount: number): void {
    this.get(queueName, maxStalledCount);
  }

  /** Makes sure every queue named has its worker, and that this process takes its stalled-check turns. */
  watch(queueNames: Iterable<string>): void {
    for (const name of queueNames) this.get(name);
    if (this.#settings.checkStalled) this.#checks ??= this.#checkStalledRounds();
  }

  async close(): Promise<void> {
    this.#stopChecks.abort();
    await this.#checks;
    const workers = [...this.#workers.values()];
    this.#workers.clear();
    await Promise.all(
      workers.map((worker) => bestEffort(worker.close(true), this.#logger, "closing a BullMQ worker")),
    );
  }

  async #checkStalledRounds(): Promise<void> {
    const interval = this.#settings.stalledIntervalMs;
    const signal = this.#stopChecks.signal;
    while (!signal.aborted) {
      if (await this.#takeStalledTurn(interval)) await this.#checkAllQueues();
      // Each process tries once a round, at its own phase: with many processes a round's check
      // starts soon after the last turn ends, at one SET per process per round.
      await sleep(interval, undefined, { signal }).catch(() => undefined);
    }
  }

  async #takeStalledTurn(interval: number): Promise<boolean> {
    try {
      return (
        (await this.#connection.set(this.#stalledTurnKey, this.#settings.name, "PX", interval, "NX")) === "OK"
      );
    } catch {
      return false;
    }
  }

  async #checkAllQueues(): Promise<void> {
    for (const [queueName, worker] of this.#workers) {
      if (this.#stopChecks.signal.aborted) return;
      let stalled: string[];
      try {
        stalled = await worker.checkStalled();
      } catch (error) {
        this.#logger.warn({ err: error, queue: queueName }, "checking for stalled jobs failed");
        continue;
      }
      for (const jobId of stalled) {
        this.#logger.warn({ task_id: jobId, queue: queueName }, "job stalled (its worker died); re-queued");
      }
      if (stalled.length > 0) await this.#settings.onStalled?.(queueName, stalled);
    }
  }
}
