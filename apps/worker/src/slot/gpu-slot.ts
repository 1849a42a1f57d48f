import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "@wgp-farm/config";
import { EngineSupervisor, type ReadyMessage } from "@wgp-farm/engine";
import {
  type JobProgress,
  modelQueueName,
  redisStepMs,
  type SlotState,
  type SlotStatus,
  settleWithin,
  type TaskJobData,
} from "@wgp-farm/queue";
import type { Job } from "bullmq";
import type { SlotPlan } from "../gpu-detection.js";
import type { HeldJob, JobEnd } from "../job/job-finisher.js";
import { JobRunner } from "../job/job-runner.js";
import type { SlotContext, StopReason } from "../job/slot-context.js";
import type { NextWork } from "../scheduling/job-scheduler.js";
import { QueueWorkerSet } from "./queue-workers.js";

interface RunningJob {
  taskId: string;
  queue: string;
  startedAt: number;
  stop: AbortController;
  progress: JobProgress | null;
}

/** How long a progress-only status change may wait before it is published. */
const PROGRESS_PUBLISH_MS = 1_000;

async function residentMiB(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match?.[1] ? Number(match[1]) / 1024 : undefined;
}

/**
 * One GPU: a warm engine-py process (restarted with backoff when it dies, recycled after N jobs or
 * above an RSS mark) and the loop that asks the scheduler for the next queue, fetches a job,
 * runs it and publishes the slot's status.
 */
export class GpuSlot {
  readonly #ctx: SlotContext;
  readonly #logger: Logger;
  readonly #workers: QueueWorkerSet;
  readonly #runner: JobRunner;
  #engine: EngineSupervisor;
  #engineInfo: ReadyMessage | undefined;
  #engineUp: { promise: Promise<void>; resolve: () => void } = GpuSlot.#deferred();
  #engineGaveUp = false;
  readonly #fetching = new AbortController();
  #loop: Promise<void> | undefined;
  #running: RunningJob | undefined;
  #state: SlotState = "starting";
  /** The model this slot holds or is about to load (what the scheduler and the registry see). */
  #loadedModel: string | null = null;
  /** The model the engine really has loaded (a job that fails before the engine leaves it as it was). */
  #engineModel: string | null = null;
  #jobsSinceEngineStart = 0;
  readonly #counters = { jobs_done: 0, jobs_failed: 0, engine_restarts: 0, model_switches: 0, busy_ms: 0 };
  #lastError: SlotStatus["last_error"] = null;
  readonly #startedAt = new Date().toISOString();
  #heartbeat: NodeJS.Timeout | undefined;
  #progressTimer: NodeJS.Timeout | undefined;
  #publishing: Promise<void> = Promise.resolve();

  constructor(
    readonly plan: SlotPlan,
    ctx: SlotContext,
  ) {
    this.#ctx = ctx;
    this.#logger = ctx.logger.child({ slot: plan.slotId });
    this.#workers = new QueueWorkerSet(
      ctx.farm.redis,
      {
        prefix: ctx.options.prefix,
        name: plan.slotId,
        lockDurationMs: ctx.options.lockDurationMs,
        stalledIntervalMs: ctx.options.stalledIntervalMs,
        checkStalled: false,
      },
      this.#logger,
    );
    this.#engine = this.#createEngine();
    this.#runner = new JobRunner(
      ctx,
      {
        plan,
        engine: () => this.#engine,
        engineInfo: () => this.#engineInfo,
        onEngineJob: (model) => this.#onEngineJob(model),
        onPhase: (phase) => this.#setState(phase === "loading_model" ? "loading" : "busy"),
        onProgress: (progress) => this.#onProgress(progress),
      },
      this.#logger,
    );
  }

  static #deferred(): { promise: Promise<void>; resolve: () => void } {
    let resolve!: () => void;
    const promise = new Promise<void>((done) => {
      resolve = done;
    });
    return { promise, resolve };
  }

  get id(): string {
    return this.plan.slotId;
  }

  get currentTaskId(): string | undefined {
    return this.#running?.taskId;
  }

  /** Starts the engine (rejects when it cannot start) and publishes the slot. */
  async start(): Promise<void> {
    this.#heartbeat = setInterval(
      () => this.#publish(),
      Math.max(1_000, this.#ctx.options.slotStatusTtlMs / 3),
    );
    this.#publish();
    await this.#engine.start();
  }

  /** Runs the fetch loop until `stopFetching`. */
  run(): void {
    this.#loop ??= this.#runLoop().catch((error: unknown) => {
      this.#logger.error({ err: error }, "slot loop failed");
      this.#setState("stopped", error instanceof Error ? error.message : String(error));
    });
  }

  /** Takes no new job; the running one goes on. */
  stopFetching(): void {
    this.#fetching.abort();
    this.#setState(this.#running ? "draining" : "stopped");
  }

  /** Resolves once the loop has ended (after `stopFetching`, when the running job is done). */
  async idle(): Promise<void> {
    await this.#loop;
  }

  /** Stops the running job if it is `taskId`: it ends cancelled, not retried. */
  cancel(taskId: string, reason: string | null): void {
    if (this.#running?.taskId !== taskId) return;
    this.#logger.info({ task_id: taskId, reason }, "cancel requested; stopping the engine job");
    this.#stopRunning({ kind: "cancel", reason });
  }

  /** Stops the running job and puts it back in its queue (drain timeout, shutdown). */
  requeueRunning(why: string): void {
    this.#stopRunning({ kind: "requeue", why });
  }

  /** Shuts the engine down, closes the slot's BullMQ workers and removes its status. */
  async shutdown(): Promise<void> {
    this.#fetching.abort();
    clearInterval(this.#heartbeat);
    clearTimeout(this.#progressTimer);
    this.requeueRunning("the worker is shutting down");
    await this.#engine
      .shutdown()
      .catch((error) => this.#logger.warn({ err: error }, "engine shutdown failed"));
    // Each step may need Redis; a Redis that went away must not keep the worker from exiting.
    const redis = this.#ctx.farm.redis;
    if (!(await settleWithin(this.#loop ?? Promise.resolve(), redisStepMs(redis)))) {
      this.#logger.warn(
        "the running job could not be returned to its queue (Redis unreachable?); it will stall back",
      );
    }
    await settleWithin(this.#workers.close(), redisStepMs(redis));
    this.#state = "stopped";
    await settleWithin(
      this.#publishing.then(() => this.#ctx.registry.remove(this.id)),
      redisStepMs(redis),
    );
  }

  status(): SlotStatus {
    const running = this.#running;
    return {
      slot_id: this.id,
      host: this.plan.host,
      gpu_index: this.plan.gpuIndex,
      gpu_name: this.plan.gpuName ?? this.#engineInfo?.gpu?.name ?? null,
      worker_name: this.id,
      pid: process.pid,
      state: this.#state,
      loaded_model: this.#loadedModel,
      current: running
        ? {
            task_id: running.taskId,
            queue: running.queue,
            started_at: new Date(running.startedAt).toISOString(),
            progress: running.progress,
          }
        : null,
      ...this.#counters,
      busy_ms: this.#counters.busy_ms + (running ? Date.now() - running.startedAt : 0),
      started_at: this.#startedAt,
      last_error: this.#lastError,
      updated_at: new Date().toISOString(),
    };
  }

  async #runLoop(): Promise<void> {
    const { wake, scheduler, options } = this.#ctx;
    let ownWorkArrived = false;
    while (!this.#fetching.signal.aborted && !this.#engineGaveUp) {
      await Promise.race([this.#engineUp.promise, this.#aborted()]);
      if (this.#fetching.signal.aborted || this.#engineGaveUp) break;
      const seq = wake.seq;
      let next: NextWork;
      try {
        next = ownWorkArrived
          ? {
              kind: "take",
              model: this.#loadedModel as string,
              queue: modelQueueName(this.#loadedModel as string),
              switching: false,
              claimed: false,
            }
          : await scheduler.next(this.id, this.#loadedModel, this.#ctx.models());
        ownWorkArrived = false;
      } catch (error) {
        this.#logger.warn({ err: error }, "reading the queues failed; retrying");
        await wake.wait(seq, 1_000, this.#fetching.signal);
        continue;
      }
      this.#logger.debug({ next }, "scheduling decision");
      if (next.kind === "idle") {
        this.#setState("idle");
        const until = next.recheckAt === null ? options.idleRecheckMs : next.recheckAt - Date.now();
        await wake.wait(seq, Math.min(options.idleRecheckMs, until), this.#fetching.signal);
        // An idle slot had nothing better to do: a new job of its own model is its next job (if
        // another slot takes it first, the fetch comes back empty and the scheduler decides).
        ownWorkArrived = this.#loadedModel !== null && wake.notifiedSince(seq, this.#loadedModel);
        continue;
      }
      await this.#fetchAndRun(next);
    }
    if (this.#engineGaveUp) this.#setState("stopped", this.#lastError?.message);
    else this.#setState("stopped");
  }

  async #fetchAndRun(next: Extract<NextWork, { kind: "take" }>): Promise<void> {
    const token = `${this.id}:${randomUUID()}`;
    let job: Job<TaskJobData> | undefined;
    try {
      job = await this.#workers.get(next.queue).getNextJob(token, { block: false });
    } catch (error) {
      this.#logger.warn({ err: error, queue: next.queue }, "fetching a job failed");
    }
    if (!job) {
      if (next.claimed) await this.#ctx.scheduler.release(next.model, this.id).catch(() => undefined);
      return;
    }
    const held: HeldJob = { job, token, queue: next.queue, taskId: String(job.id) };
    if (this.#fetching.signal.aborted) {
      // Fetched as the drain began: give it straight back.
      await job.moveToWait(token).catch(() => undefined);
      return;
    }
    await this.#run(held, next);
  }

  async #run(held: HeldJob, next: Extract<NextWork, { kind: "take" }>): Promise<void> {
    const running: RunningJob = {
      taskId: held.taskId,
      queue: held.queue,
      startedAt: Date.now(),
      stop: new AbortController(),
      progress: null,
    };
    this.#running = running;
    const switching = next.model !== this.#loadedModel;
    this.#loadedModel = next.model;
    this.#setState(switching ? "loading" : "busy");
    if (next.claimed) {
      // The status now says which model this slot holds: other slots count it, the claim can go.
      void this.#publishing
        .then(() => this.#ctx.scheduler.release(next.model, this.id))
        .catch(() => undefined);
    }
    let end: JobEnd;
    try {
      end = await this.#runner.run(held, running.stop);
    } finally {
      this.#counters.busy_ms += Date.now() - running.startedAt;
      this.#running = undefined;
      this.#loadedModel = this.#engineModel;
    }
    this.#recordEnd(held.taskId, end);
    this.#setState(this.#fetching.signal.aborted ? "stopped" : "idle");
    await this.#recycleIfDue();
  }

  #recordEnd(taskId: string, end: JobEnd): void {
    if (end.kind === "completed") {
      this.#counters.jobs_done += 1;
      this.#jobsSinceEngineStart += 1;
      return;
    }
    if (end.kind === "failed" || end.kind === "quarantined") {
      this.#counters.jobs_failed += 1;
      this.#lastError = { at: new Date().toISOString(), task_id: taskId, message: end.message };
    }
  }

  #onEngineJob(model: string): void {
    if (this.#engineModel !== null && this.#engineModel !== model) {
      this.#counters.model_switches += 1;
      void this.#ctx.stats.increment("model_switches").catch(() => undefined);
    }
    this.#engineModel = model;
  }

  #onProgress(progress: JobProgress): void {
    if (this.#running) this.#running.progress = progress;
    this.#progressTimer ??= setTimeout(() => {
      this.#progressTimer = undefined;
      this.#publish();
    }, PROGRESS_PUBLISH_MS);
  }

  #stopRunning(reason: StopReason): void {
    const running = this.#running;
    if (running && !running.stop.signal.aborted) running.stop.abort(reason);
  }

  #setState(state: SlotState, error?: string): void {
    if (error) this.#lastError = { at: new Date().toISOString(), task_id: null, message: error };
    if (state === this.#state && !error) return;
    this.#state = state;
    this.#publish();
  }

  /** Publishes the status; writes are chained so that they land in order. */
  #publish(): void {
    const status = this.status();
    this.#publishing = this.#publishing
      .then(() => this.#ctx.registry.publish(status))
      .catch((error: unknown) => this.#logger.warn({ err: error }, "publishing the slot status failed"));
  }

  #aborted(): Promise<void> {
    const signal = this.#fetching.signal;
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  }

  #createEngine(): EngineSupervisor {
    const { options } = this.#ctx;
    const engine = new EngineSupervisor({
      adapter: options.engine,
      wangpRoot: options.wangpRoot,
      configDir: path.join(options.stateDir, this.id),
      gpu: this.plan.gpuIndex,
      python: options.python,
      wgpOptions: options.wgpOptions,
      wangpArgs: options.wangpArgs,
      dryRunDurationS: options.dryRunDurationS,
      env: options.engineEnv,
      hangTimeoutMs: options.hangTimeoutMs,
      readyTimeoutMs: options.engineReadyTimeoutMs,
      logger: this.#logger.child({ component: "engine" }),
    });
    engine.on("ready", (ready) => {
      this.#engineInfo = ready;
      this.#jobsSinceEngineStart = 0;
      this.#engineUp.resolve();
      if (!this.#running) this.#setState(this.#fetching.signal.aborted ? "stopped" : "idle");
    });
    engine.on("exit", (exit) => {
      this.#engineModel = null;
      if (!this.#running) this.#loadedModel = null;
      if (exit.reason !== "shutdown") this.#engineUp = GpuSlot.#deferred();
    });
    engine.on("restarting", ({ attempt, delayMs }) => {
      this.#counters.engine_restarts += 1;
      void this.#ctx.stats.increment("engine_restarts").catch(() => undefined);
      this.#logger.warn({ attempt, delayMs }, "engine restarting");
      this.#setState("restarting");
    });
    engine.on("gave-up", (error) => {
      this.#engineGaveUp = true;
      this.#engineUp.resolve();
      this.#logger.error({ err: error }, "engine could not be restarted; the slot stops");
      this.#setState("stopped", `engine could not be restarted: ${error.message}`);
    });
    return engine;
  }

  /** A fresh engine after `recycleAfterJobs` jobs or above `recycleRssMb` (WanGP's memory creeps up). */
  async #recycleIfDue(): Promise<void> {
    const { recycleAfterJobs, recycleRssMb } = this.#ctx.options;
    if (this.#fetching.signal.aborted) return;
    const byJobs = recycleAfterJobs > 0 && this.#jobsSinceEngineStart >= recycleAfterJobs;
    const rss = recycleRssMb > 0 ? await residentMiB(this.#engine.engine?.pid) : undefined;
    const byMemory = rss !== undefined && rss > recycleRssMb;
    if (!byJobs && !byMemory) return;
    this.#logger.info(
      { jobs: this.#jobsSinceEngineStart, rss_mib: rss && Math.round(rss) },
      byJobs ? "recycling the engine (job count)" : "recycling the engine (memory)",
    );
    this.#setState("restarting");
    await this.#engine.shutdown();
    this.#engine = this.#createEngine();
    this.#engineUp = GpuSlot.#deferred();
    this.#loadedModel = null;
    this.#engineModel = null;
    try {
      await this.#engine.start();
    } catch (error) {
      this.#engineGaveUp = true;
      this.#setState("stopped", `engine could not be restarted: ${(error as Error).message}`);
    }
  }
}
