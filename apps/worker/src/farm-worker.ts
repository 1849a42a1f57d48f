import { bestEffort, createLogger, type Logger } from "@wgp-farm/config";
import { processIsAlive } from "@wgp-farm/host";
import {
  CancelChannel,
  FarmConnection,
  FarmStats,
  LostAttempts,
  modelOfQueue,
  modelQueueName,
  PublishClaims,
  redisStepMs,
  SlotRegistry,
  type SlotStatus,
  STITCH_QUEUE,
  settleWithin,
  type WorkEntry,
} from "@wgp-farm/queue";
import { QueueKeys } from "bullmq";
import type { Redis } from "ioredis";
import { planSlots, type SlotPlan } from "./gpu-detection.js";
import { openInputCache } from "./inputs/worker-input-cache.js";
import { AttemptHistory } from "./job/attempt-history.js";
import { CausVidLora } from "./job/causvid-lora.js";
import type { JobRunnerContext } from "./job/job-runner.js";
import { Quarantine } from "./job/quarantine.js";
import { openResultStore } from "./output/open-result-store.js";
import type { StagingOwner } from "./output/output-publisher.js";
import { JobScheduler } from "./scheduling/job-scheduler.js";
import { WakeSignal } from "./scheduling/wake-signal.js";
import { WorkSignalWatcher } from "./scheduling/work-signal-watcher.js";
import { GpuSlot, type GpuSlotContext } from "./slot/gpu-slot.js";
import { QueueWorkerSet } from "./slot/queue-workers.js";
import { type SlotEngineFactory, superviseEngineProcess } from "./slot/slot-engine.js";
import { SlotServices } from "./slot/slot-services.js";
import { StitchRunner } from "./steps/stitch-runner.js";
import {
  type FarmWorkerOptions,
  type ResolvedWorkerOptions,
  resolveWorkerOptions,
  WorkerConfigError,
} from "./worker-options.js";

/** How long a job stopped for a drain may take to reach its engine's next step before the engine is shut down. */
const REQUEUE_GRACE_MS = 15_000;
/** Staging folders of dead attempts are swept this often (and at start). */
const STAGING_SWEEP_MS = 10 * 60_000;

/** Everything the slots of one worker process share: each part takes the narrow context it declares. */
type WorkerServices = GpuSlotContext &
  JobRunnerContext & {
    farm: FarmConnection;
    cancels: CancelChannel;
    options: ResolvedWorkerOptions;
  };

/**
 * Under model affinity, a slot switches to a model only for a backlog beyond what the slots holding
 * it clear (`switchBacklogPerSlot` each): such work wakes only those slots, not one slot per process
 * to decide. A stall is not left to them (the slot that held the job may be the one that died), and
 * the wait bound is kept by the watcher's nudges.
 */
function leaveToServers(entry: WorkEntry, options: ResolvedWorkerOptions): boolean {
  return (
    options.schedulingPolicy === "affinity" &&
    entry.reason !== "stall" &&
    entry.serving > 0 &&
    entry.count <= entry.serving * options.switchBacklogPerSlot
  );
}

/**
 * Jobs re-queued as stalled mean the slots that ran them are gone (or lost touch with Redis): their
 * statuses would otherwise count them as serving their models until the TTL ends, keeping idle slots
 * from taking over. A slot that is in fact alive publishes again within seconds.
 */
async function forgetDeadSlots(
  registry: SlotRegistry,
  taskIds: readonly string[],
  ownSlots: ReadonlySet<string>,
  logger: Logger,
): Promise<void> {
  for (const slot of await registry.list()) {
    if (ownSlots.has(slot.slot_id) || !slot.current || !taskIds.includes(slot.current.task_id)) continue;
    logger.warn(
      { slot: slot.slot_id, task_id: slot.current.task_id },
      "slot lost its job to a stall; forgetting it",
    );
    await registry.remove(slot.slot_id);
  }
}

/** What tests and the farm simulator may replace; the product never passes any. */
export interface WorkerTestSeams {
  /** Builds each slot's engine (default: an EngineSupervisor over engine-py). */
  createEngine?: SlotEngineFactory;
}

/** Slot ids of the workers running in this process (`headless` may run one next to other parts). */
const SLOTS_IN_THIS_PROCESS = new Set<string>();

/**
 * A GPU host's worker process: one slot per GPU, the queue watcher that wakes idle slots, the
 * stalled-job checker, cancel requests from anywhere, and the drain that returns running jobs to
 * their queues on shutdown.
 */
export class FarmWorker {
  readonly #slots: GpuSlot[];
  readonly #ctx: WorkerServices;
  readonly #watcher: WorkSignalWatcher;
  readonly #subscriber: Redis;
  #unsubscribe: (() => Promise<void>) | undefined;
  /** Stitch jobs on this host's CPU (absent with --stitch-concurrency 0). */
  #stitch: StitchRunner | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  readonly #closed = Promise.withResolvers<void>();

  private constructor(
    ctx: WorkerServices,
    plans: readonly SlotPlan[],
    watcher: WorkSignalWatcher,
    subscriber: Redis,
  ) {
    this.#ctx = ctx;
    this.#subscriber = subscriber;
    this.#watcher = watcher;
    this.#slots = plans.map((plan) => new GpuSlot(plan, ctx, ctx));
  }

  /** Connects, starts every slot's engine and begins fetching. Rejects when a slot cannot start. */
  static async start(options: FarmWorkerOptions, seams: WorkerTestSeams = {}): Promise<FarmWorker> {
    const resolved = resolveWorkerOptions(options);
    const logger = options.logger ?? createLogger({ name: "worker" });
    const plans = await planSlots(resolved);
    const farm = await FarmConnection.open(resolved.redisUrl, resolved.prefix, {
      role: "service",
      connectionName: `wgp-farm:worker:${plans[0]?.host ?? ""}`.replace(/\s/g, "-"),
      logger,
    });
    let worker: FarmWorker | undefined;
    try {
      const wake = new WakeSignal();
      const watcherRedis = farm.redis.duplicate();
      const watcher = new WorkSignalWatcher(watcherRedis, farm.keys, wake, logger, {
        refreshMs: resolved.idleRecheckMs,
        leaveToServers: (entry) => leaveToServers(entry, resolved),
        commands: farm.redis,
      });
      const host = plans[0]?.host ?? "worker";
      const ctx = await FarmWorker.#context(resolved, farm, logger, wake, () => watcher.models, {
        host,
        ownSlots: new Set(plans.map((plan) => plan.slotId)),
        createEngine: seams.createEngine ?? superviseEngineProcess,
      });
      await FarmWorker.#checkIdentity(ctx.registry, plans);
      const subscriber = farm.redis.duplicate();
      worker = new FarmWorker(ctx, plans, watcher, subscriber);
      for (const plan of plans) SLOTS_IN_THIS_PROCESS.add(plan.slotId);
      await worker.#start();
      return worker;
    } catch (error) {
      if (worker) await bestEffort(worker.stop(), logger, "stopping the worker that failed to start", "warn");
      else await bestEffort(farm.close(), logger, "closing the Redis connection", "warn");
      throw error;
    }
  }

  static async #context(
    options: ResolvedWorkerOptions,
    farm: FarmConnection,
    logger: Logger,
    wake: WakeSignal,
    models: () => readonly string[],
    {
      host,
      ownSlots,
      createEngine,
    }: { host: string; ownSlots: ReadonlySet<string>; createEngine: SlotEngineFactory },
  ): Promise<WorkerServices> {
    // First: a missing bucket or refused credentials stop the worker before it opens anything else.
    const publisher = await openResultStore(options, logger);
    const registry = new SlotRegistry(farm.redis, farm.keys, options.slotStatusTtlMs);
    const workers = new QueueWorkerSet(
      farm.redis,
      {
        prefix: options.prefix,
        name: `worker@${host}`,
        lockDurationMs: options.lockDurationMs,
        stalledIntervalMs: options.stalledIntervalMs,
        checkStalled: true,
        onStalled: async (queue, jobIds) => {
          // Only here, in the one process that ran the check: every process forgetting them on the
          // stall's work entry read the whole registry once per process (a storm in a starved farm).
          await bestEffort(
            forgetDeadSlots(registry, jobIds, ownSlots, logger),
            logger,
            "forgetting dead slots",
          );
          // A stalled stitch needs no slot: its queue's own workers block on it.
          const model = modelOfQueue(queue);
          if (model === undefined) return;
          const models = jobIds.map(() => model);
          await bestEffort(farm.work.announce(models, "stall", jobIds), logger, "announcing stalled jobs");
        },
      },
      logger,
    );
    return {
      options,
      farm,
      redis: farm.redis,
      registry,
      stats: new FarmStats(farm.redis, farm.keys),
      cancels: new CancelChannel(farm.redis, farm.keys),
      history: new AttemptHistory(farm.redis, farm.keys, logger),
      claims: new PublishClaims(farm.redis, farm.keys, logger),
      lostAttempts: new LostAttempts(farm.redis, farm.keys, logger),
      quarantine: new Quarantine(farm, options.quarantineAfter, logger),
      workers,
      work: farm.work,
      scheduler: new JobScheduler(farm.redis, farm.keys, {
        policy: options.schedulingPolicy,
        maxWaitMs: options.maxWaitMs,
        backlogPerSlot: options.switchBacklogPerSlot,
        slotStatusTtlMs: options.slotStatusTtlMs,
      }),
      wake,
      models,
      createEngine,
      slotServices: new SlotServices(farm.redis, options),
      publisher,
      causvid:
        options.engine === "wangp" && options.wangpRoot
          ? new CausVidLora({
              wangpRoot: options.wangpRoot,
              url: options.causvidUrl,
              sha256: options.causvidSha256,
              logger,
            })
          : undefined,
      inputs: await openInputCache(options, logger),
      logger,
    };
  }

  /** Two live workers must not run the same slot id (the same --name on one host). */
  static async #checkIdentity(registry: SlotRegistry, plans: readonly SlotPlan[]): Promise<void> {
    for (const plan of plans) {
      const live = await registry.get(plan.slotId);
      const elsewhere = live && live.pid !== process.pid && processIsAlive(live.pid);
      if (elsewhere || SLOTS_IN_THIS_PROCESS.has(plan.slotId)) {
        throw new WorkerConfigError(
          `slot ${plan.slotId} is already run by pid ${live?.pid ?? process.pid}${live ? ` (status updated ${live.updated_at})` : ""}; give this worker another --name`,
        );
      }
    }
  }

  async #start(): Promise<void> {
    const ctx = this.#ctx;
    this.#watcher.onModelsChanged((models) => ctx.workers.watch(models.map(modelQueueName)));
    await this.#watcher.start();
    ctx.workers.watch(this.#watcher.models.map(modelQueueName));
    // Every process, stitch runner or not: whoever takes a round's turn checks the stitch queue too.
    ctx.workers.checkStalledToo(STITCH_QUEUE, ctx.options.quarantineAfter - 1);
    this.#unsubscribe = await ctx.cancels.subscribe(
      this.#subscriber,
      (taskId) => void this.#onCancel(taskId),
    );
    await this.#sweepStaging();
    this.#sweepTimer = setInterval(() => void this.#sweepStaging(), STAGING_SWEEP_MS);
    this.#sweepTimer.unref();
    if (ctx.options.stitchConcurrency > 0) {
      // Connected before the slots start: its set-up does not compete with their first status publishes.
      this.#stitch = new StitchRunner({ ...ctx, host: this.#slots[0]?.plan.host ?? "worker" });
      await this.#stitch.ready();
    }
    await Promise.all(this.#slots.map((slot) => slot.start()));
    for (const slot of this.#slots) slot.run();
    this.#stitch?.run();
    ctx.logger.info(
      { slots: this.#slots.map((slot) => slot.id), models: this.#watcher.models },
      "worker started; waiting for jobs",
    );
  }

  get slotIds(): string[] {
    return this.#slots.map((slot) => slot.id);
  }

  /** Resolves once the worker has stopped (drain or stop). */
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  statuses(): SlotStatus[] {
    return this.#slots.map((slot) => slot.status());
  }

  /**
   * Stops fetching, lets running jobs finish for up to `timeoutMs`, then stops the rest and puts
   * them back in their queues (not failed), shuts the engines down and disconnects.
   */
  drain(timeoutMs: number = this.#ctx.options.drainTimeoutMs): Promise<void> {
    this.#closing ??= this.#drain(timeoutMs).finally(() => this.#closed.resolve());
    return this.#closing;
  }

  /** Stops at once: running jobs go back to their queues. */
  stop(): Promise<void> {
    return this.drain(0);
  }

  async #drain(timeoutMs: number): Promise<void> {
    const { logger } = this.#ctx;
    const busy = this.#slots.filter((slot) => slot.currentTaskId !== undefined).length;
    logger.info({ running_jobs: busy, timeout_ms: timeoutMs }, "draining: no new jobs");
    for (const slot of this.#slots) slot.stopFetching();
    const allIdle = Promise.all(this.#slots.map((slot) => slot.idle()));
    if (busy > 0 && !(await settleWithin(allIdle, timeoutMs))) {
      logger.warn("drain timeout: returning running jobs to their queues");
      for (const slot of this.#slots) slot.requeueRunning("the worker is shutting down");
      if (!(await settleWithin(allIdle, REQUEUE_GRACE_MS))) {
        logger.warn("engines did not stop their jobs in time; shutting them down");
      }
    }
    await Promise.all(this.#slots.map((slot) => slot.shutdown()));
    await this.#close();
    logger.info("worker stopped");
  }

  async #close(): Promise<void> {
    clearInterval(this.#sweepTimer);
    await this.#stitch?.close(REQUEUE_GRACE_MS, redisStepMs(this.#ctx.farm.redis));
    for (const id of this.slotIds) SLOTS_IN_THIS_PROCESS.delete(id);
    const { farm } = this.#ctx;
    await settleWithin(this.#unsubscribe?.() ?? Promise.resolve(), redisStepMs(farm.redis));
    this.#subscriber.disconnect();
    await this.#watcher.close();
    await settleWithin(this.#ctx.workers.close(), redisStepMs(farm.redis));
    if (!(await settleWithin(farm.close(), redisStepMs(farm.redis)))) farm.redis.disconnect();
    await bestEffort(this.#ctx.publisher.close(), this.#ctx.logger, "closing the result store");
  }

  async #onCancel(taskId: string): Promise<void> {
    const slot = this.#slots.find((candidate) => candidate.currentTaskId === taskId);
    if (!slot && !this.#stitch?.runs(taskId)) return;
    let reason: string | null = null;
    await bestEffort(
      async () => {
        reason = (await this.#ctx.cancels.requestOf(taskId))?.reason ?? null;
      },
      this.#ctx.logger,
      "reading the cancel request's reason",
    );
    if (slot) slot.cancel(taskId, reason);
    else this.#stitch?.cancel(taskId, reason);
  }

  async #sweepStaging(): Promise<void> {
    const { farm, publisher, logger } = this.#ctx;
    const queueKeys = new QueueKeys(farm.keys.prefix);
    // BullMQ's own key for a job's lock: the job's key, then `:lock`.
    const isHeld = async (owner: StagingOwner) =>
      (await farm.redis.get(`${queueKeys.toKey(owner.queue, owner.task_id)}:lock`)) === owner.token;
    try {
      const removed = await publisher.sweep(isHeld);
      if (removed > 0) logger.info({ removed }, "removed staging folders of attempts that lost their job");
    } catch (error) {
      logger.warn({ err: error }, "sweeping the staging folder failed");
    }
  }
}

/** What `startFarmWorker` gives back: enough to run a worker inside another process (`headless`). */
export interface FarmWorkerHandle {
  readonly slotIds: string[];
  readonly closed: Promise<void>;
  statuses(): SlotStatus[];
  drain(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a worker in this process (the CLI's `worker` command and `headless` both use it). */
export function startFarmWorker(
  options: FarmWorkerOptions,
  seams?: WorkerTestSeams,
): Promise<FarmWorkerHandle> {
  return FarmWorker.start(options, seams);
}
