import { randomUUID } from "node:crypto";
import { bestEffort, type Logger } from "@wgp-farm/config";
import type { EngineSupervisor } from "@wgp-farm/engine";
import {
  modelQueueName,
  redisStepMs,
  type SlotStatus,
  settleWithin,
  type TaskJobData,
  type WorkReason,
  type WorkSignal,
} from "@wgp-farm/queue";
import type { Job } from "bullmq";
import type { Redis } from "ioredis";
import type { SlotPlan } from "../gpu-detection.js";
import { type JobEvent, stopJob } from "../job/job-events.js";
import type { HeldJob, JobEnd } from "../job/job-finisher.js";
import { JobRunner, type JobRunnerContext } from "../job/job-runner.js";
import type { ResultTimings } from "../output/result-manifest.js";
import type { JobScheduler, NextWork } from "../scheduling/job-scheduler.js";
import { markPickup } from "../scheduling/pickup-trace.js";
import type { WakeSignal } from "../scheduling/wake-signal.js";
import type { ResolvedWorkerOptions } from "../worker-options.js";
import { startFirstOnHost } from "./first-start-gate.js";
import { modelsThisWangpKnows } from "./host-wangp.js";
import type { QueueWorkerSet } from "./queue-workers.js";
import { type SlotEngineFactory, type SlotEngineOptions, slotEngineOptions } from "./slot-engine.js";
import type { SlotHelpers, SlotServices } from "./slot-services.js";
import { SlotStatusBoard, type SlotStatusContext } from "./slot-status.js";

/** What a GpuSlot needs from its worker process (its jobs get a JobRunnerContext of their own). */
export interface GpuSlotContext extends SlotStatusContext {
  /** The process's command connection. */
  redis: Redis;
  /** The process's fetch workers, one per queue, shared by its slots (each fetches with its own token). */
  workers: QueueWorkerSet;
  scheduler: JobScheduler;
  wake: WakeSignal;
  /** Where a job this slot puts back (retry, requeue) is announced, so that idle slots anywhere wake. */
  work: WorkSignal;
  /** The model types that have a queue, as last seen. */
  models(): readonly string[];
  createEngine: SlotEngineFactory;
  /** Makes each slot's host-WanGP publisher, weights gate and farm event log. */
  slotServices: SlotServices;
  options: SlotEngineOptions & Pick<ResolvedWorkerOptions, "slotStatusTtlMs">;
  logger: Logger;
}

type TakeWork = Extract<NextWork, { kind: "take" }>;

/**
 * One GPU: its engine (one EngineSupervisor for the slot's life: restarted when it dies, recycled
 * when due) and the loop that asks the scheduler for the next queue, fetches a job, has a JobRunner
 * run it and keeps the slot's published status up to date.
 */
export class GpuSlot {
  readonly plan: SlotPlan;
  readonly #ctx: GpuSlotContext;
  readonly #logger: Logger;
  readonly #status: SlotStatusBoard;
  readonly #engine: EngineSupervisor;
  readonly #runner: JobRunner;
  readonly #helpers: SlotHelpers;
  readonly #fetching = new AbortController();
  #loop: Promise<void> | undefined;
  /** Stops the running job. */
  #stopRunning: AbortController | undefined;
  /** The model the engine really has loaded (a job that fails before the engine leaves it as it was). */
  #engineModel: string | null = null;

  constructor(plan: SlotPlan, ctx: GpuSlotContext, jobs: JobRunnerContext) {
    this.plan = plan;
    this.#ctx = ctx;
    this.#logger = ctx.logger.child({ slot: plan.slotId });
    this.#status = new SlotStatusBoard(
      plan,
      ctx,
      this.#logger,
      () => this.#engine.readyInfo?.gpu?.name ?? null,
    );
    this.#engine = this.#superviseEngine();
    this.#helpers = ctx.slotServices.forSlot(plan, this.#engine, this.#logger);
    this.#helpers.events.followEngine(this.#engine);
    const { weights } = this.#helpers;
    this.#runner = new JobRunner(jobs, { plan, engine: this.#engine, logger: this.#logger, weights });
  }

  get id(): string {
    return this.plan.slotId;
  }

  get currentTaskId(): string | undefined {
    return this.#status.currentTaskId;
  }

  /** Starts the engine (rejects when it cannot start) and publishes the slot. */
  async start(): Promise<void> {
    this.#status.startHeartbeat(Math.max(1_000, this.#ctx.options.slotStatusTtlMs / 3));
    const { engine, wangpRoot } = this.#ctx.options;
    const start = () => this.#engine.start();
    await (engine === "wangp" && wangpRoot ? startFirstOnHost(wangpRoot, start, this.#logger) : start());
  }

  /** Runs the fetch loop until `stopFetching`. */
  run(): void {
    this.#loop ??= this.#runLoop().catch((error: unknown) => {
      this.#logger.error({ err: error }, "slot loop failed");
      this.#status.setState("stopped", error instanceof Error ? error.message : String(error));
    });
  }

  /** Takes no new job; the running one goes on. */
  stopFetching(): void {
    this.#fetching.abort();
    this.#status.setState(this.#stopRunning ? "draining" : "stopped");
  }

  /** Resolves once the loop has ended (after `stopFetching`, when the running job is done). */
  async idle(): Promise<void> {
    await this.#loop;
  }

  /** Stops the running job if it is `taskId`: it ends cancelled, not retried. */
  cancel(taskId: string, reason: string | null): void {
    if (this.currentTaskId !== taskId || !this.#stopRunning) return;
    this.#logger.info({ task_id: taskId, reason }, "cancel requested; stopping the engine job");
    stopJob(this.#stopRunning, { kind: "cancel", reason });
  }

  /** Stops the running job and puts it back in its queue (drain timeout, shutdown). */
  requeueRunning(why: string): void {
    if (this.#stopRunning) stopJob(this.#stopRunning, { kind: "requeue", why });
  }

  /** Shuts the engine down and removes its status. */
  async shutdown(): Promise<void> {
    this.#fetching.abort();
    this.#status.stop();
    this.#helpers.hostWangp.stop();
    this.requeueRunning("the worker is shutting down");
    await bestEffort(this.#engine.shutdown(), this.#logger, "shutting the engine down", "warn");
    // Each step may need Redis; a Redis that went away must not keep the worker from exiting.
    const stepMs = redisStepMs(this.#ctx.redis);
    if (!(await settleWithin(this.#loop ?? Promise.resolve(), stepMs))) {
      this.#logger.warn(
        "the running job could not be returned to its queue (Redis unreachable?); it will stall back",
      );
    }
    await settleWithin(this.#status.remove(), stepMs);
  }

  status(): SlotStatus {
    return this.#status.status();
  }

  async #runLoop(): Promise<void> {
    const { wake } = this.#ctx;
    let ownWorkArrived = false;
    /** The models whose work woke this slot, when only that happened (null: every queue counts). */
    let wokenFor: string[] | null = null;
    while (await this.#engineReady()) {
      const seq = wake.seq;
      const loaded = this.#status.loadedModel;
      let next: NextWork;
      try {
        next =
          ownWorkArrived && loaded !== null
            ? { kind: "take", model: loaded, queue: modelQueueName(loaded), switching: false, claimed: false }
            : await this.#decide(loaded, wokenFor);
        if (!ownWorkArrived) markPickup("decided", { slot: this.id, kind: next.kind });
        ownWorkArrived = false;
        wokenFor = null;
      } catch (error) {
        this.#logger.warn({ err: error }, "reading the queues failed; retrying");
        await wake.wait(seq, 1_000, this.#fetching.signal);
        continue;
      }
      this.#logger.debug({ next }, "scheduling decision");
      if (next.kind === "idle") {
        this.#status.setState("idle");
        // No periodic re-read per slot: the process's watcher wakes slots for announced work and
        // nudges one idle slot now and then for work no one announced.
        const until = next.recheckAt === null ? Number.POSITIVE_INFINITY : next.recheckAt - Date.now();
        await wake.wait(seq, until, this.#fetching.signal, this.#status.loadedModel, this.id);
        // An idle slot had nothing better to do: a new job of its own model is its next job (if
        // another slot takes it first, the fetch comes back empty and the scheduler decides).
        const model = this.#status.loadedModel;
        ownWorkArrived = model !== null && wake.notifiedSince(seq, model);
        wokenFor = wake.modelsNotifiedSince(seq);
        markPickup("woke", { slot: this.id, own: ownWorkArrived });
        continue;
      }
      await this.#fetchAndRun(next);
    }
    wake.leaveIdle(this.id);
    this.#status.setState("stopped");
  }

  /**
   * The scheduler's decision. A slot woken by work for a few models first decides on their queues
   * alone (one model's keys, not every queue's: at 50 models that read was most of a pickup's time);
   * when that leaves it idle it decides on every queue, so that its next wake-up time (a wait bound,
   * a retry coming due) is the one the whole farm calls for.
   */
  async #decide(loaded: string | null, wokenFor: readonly string[] | null): Promise<NextWork> {
    const known = modelsThisWangpKnows(this.#ctx.models(), this.#engine.readyInfo);
    const woken = wokenFor?.filter((model) => known.includes(model)) ?? [];
    if (woken.length > 0) {
      const next = await this.#ctx.scheduler.next(this.id, loaded, woken, woken.length < known.length);
      if (next.kind === "take") return next;
    }
    return this.#ctx.scheduler.next(this.id, loaded, known);
  }

  /**
   * Waits until the engine can take a job. False once the slot stops fetching, or when there is no
   * engine to wait for (the supervisor gave up, which its `gave-up` event reports, or shut down).
   */
  async #engineReady(): Promise<boolean> {
    const signal = this.#fetching.signal;
    if (signal.aborted) return false;
    return this.#engine.whenReady(signal).then(
      () => !signal.aborted,
      () => false,
    );
  }

  async #fetchAndRun(next: TakeWork): Promise<void> {
    const token = `${this.id}:${randomUUID()}`;
    let job: Job<TaskJobData> | undefined;
    try {
      job = await this.#ctx.workers.fetch(next.queue, token, this.id);
    } catch (error) {
      this.#logger.warn({ err: error, queue: next.queue }, "fetching a job failed");
    }
    markPickup("fetched", { slot: this.id, job: job ? String(job.id) : null });
    if (!job) {
      if (next.claimed) await this.#releaseClaim(next.model);
      return;
    }
    this.#ctx.wake.leaveIdle(this.id);
    if (this.#fetching.signal.aborted) {
      // Fetched as the drain began: give it straight back.
      await bestEffort(job.moveToWait(token), this.#logger, "giving back a job fetched as the drain began");
      await this.#announce(next.model, "requeue", String(job.id));
      return;
    }
    await this.#run({ job, token, queue: next.queue, taskId: String(job.id) }, next);
  }

  async #run(held: HeldJob, next: TakeWork): Promise<void> {
    const stop = new AbortController();
    this.#stopRunning = stop;
    this.#status.jobStarted(held.taskId, held.queue);
    this.#helpers.events.started(held);
    const switching = next.model !== this.#status.loadedModel;
    this.#status.loadedModel = next.model;
    this.#status.setState(switching ? "loading" : "busy");
    // The status now says which model this slot holds: other slots count it, the claim can go.
    if (next.claimed) void this.#status.afterPublished(() => this.#releaseClaim(next.model));
    let end: JobEnd | undefined;
    try {
      end = await this.#runner.run(held, stop, (event) => this.#onJobEvent(event));
    } finally {
      this.#stopRunning = undefined;
      this.#status.jobEnded(end);
      this.#helpers.events.ended(held, end);
      this.#status.loadedModel = this.#engineModel;
    }
    if (end?.kind === "completed") this.#recordJobTimes(next.model, end.summary.timings);
    if (end?.kind === "requeued") await this.#announce(next.model, "requeue", held.taskId);
    if (end?.kind === "failed" && end.retrying) await this.#announce(next.model, "retry", held.taskId);
    const draining = this.#fetching.signal.aborted;
    this.#status.setState(draining ? "stopped" : "idle");
    if (!draining)
      await bestEffort(this.#engine.recycleIfDue(), this.#logger, "recycling the engine", "warn");
  }

  #onJobEvent(event: JobEvent): void {
    switch (event.type) {
      case "engine-job":
        if (this.#engineModel !== null && this.#engineModel !== event.model)
          this.#status.count("model_switches");
        this.#engineModel = event.model;
        return;
      case "phase":
        this.#status.setState(event.phase === "loading_model" ? "loading" : "busy");
        return;
      case "progress":
        this.#status.jobProgress(event.progress);
        this.#helpers.events.progress(event.progress);
        return;
    }
  }

  /** The job went back to its queue: idle slots anywhere may take it (a retry in backoff, when it is due). */
  async #announce(model: string, reason: WorkReason, taskId: string): Promise<void> {
    await bestEffort(
      this.#ctx.work.announce([model], reason, [taskId]),
      this.#logger,
      "announcing the job put back",
    );
  }

  /**
   * The model's typical load and job times, by which idle slots judge whether its tail is worth a
   * switch. Not awaited: this slot's next decision reads after it on the same connection.
   */
  #recordJobTimes(model: string, timings: ResultTimings): void {
    const times = { loadMs: timings.model_load_s * 1000, generationMs: timings.generation_s * 1000 };
    void bestEffort(this.#ctx.scheduler.recordJob(model, times), this.#logger, "recording the job's times");
  }

  async #releaseClaim(model: string): Promise<void> {
    await bestEffort(this.#ctx.scheduler.release(model, this.id), this.#logger, "releasing the switch claim");
  }

  #superviseEngine(): EngineSupervisor {
    const engineLogger = this.#logger.child({ component: "engine" });
    const engine = this.#ctx.createEngine(slotEngineOptions(this.plan, this.#ctx.options, engineLogger));
    engine.on("ready", (ready) => {
      this.#helpers.hostWangp.engineReady(ready);
      if (!this.#stopRunning) this.#status.setState(this.#fetching.signal.aborted ? "stopped" : "idle");
    });
    engine.on("exit", () => {
      this.#engineModel = null;
      if (!this.#stopRunning) this.#status.loadedModel = null;
    });
    this.#status.followEngine(engine);
    return engine;
  }
}
