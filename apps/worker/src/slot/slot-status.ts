import { bestEffort, type Logger } from "@wgp-farm/config";
import type { EngineSupervisor } from "@wgp-farm/engine";
import type { FarmStats, JobProgress, SlotRegistry, SlotState, SlotStatus } from "@wgp-farm/queue";
import type { SlotPlan } from "../gpu-detection.js";
import type { JobEnd } from "../job/job-finisher.js";

/** What a SlotStatusBoard needs: where statuses are published and farm counters kept. */
export interface SlotStatusContext {
  registry: SlotRegistry;
  stats: FarmStats;
}

/** Counters that are also kept farm-wide. */
type FarmCounter = "engine_restarts" | "model_switches";

interface CurrentJob {
  taskId: string;
  queue: string;
  startedAt: number;
  progress: JobProgress | null;
}

/** How long a progress-only status change may wait before it is published. */
const PROGRESS_PUBLISH_MS = 1_000;

/**
 * One timer per period for every slot of the process: the slots publish on it in the same
 * event-loop turn, which the registry sends as one write (a host's eight slots reporting progress:
 * one script call a second, not eight).
 */
class SharedTick {
  static readonly #byPeriod = new Map<number, SharedTick>();
  readonly #periodMs: number;
  readonly #listeners = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;

  private constructor(periodMs: number) {
    this.#periodMs = periodMs;
  }

  static every(periodMs: number): SharedTick {
    let tick = SharedTick.#byPeriod.get(periodMs);
    if (!tick) {
      tick = new SharedTick(periodMs);
      SharedTick.#byPeriod.set(periodMs, tick);
    }
    return tick;
  }

  /** Calls `listener` on every tick until the function returned is called. */
  add(listener: () => void): () => void {
    this.#listeners.add(listener);
    this.#timer ??= setInterval(() => {
      for (const each of [...this.#listeners]) each();
    }, this.#periodMs);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size > 0) return;
      clearInterval(this.#timer);
      this.#timer = undefined;
    };
  }
}

/**
 * What one slot publishes about itself (state, model, running job and its progress, counters, last
 * error), kept up to date and written to the slot registry: on every change of state, at most once a
 * second for progress, and on a heartbeat so that the status outlives its TTL while the slot lives
 * (progress and heartbeats on timers shared by the process's slots, so that their writes go together).
 * Writes are chained so that they land in order.
 */
export class SlotStatusBoard {
  readonly #plan: SlotPlan;
  readonly #ctx: SlotStatusContext;
  readonly #logger: Logger;
  readonly #gpuName: () => string | null;
  #state: SlotState = "starting";
  /** The model this slot holds or is about to load (what the scheduler and the registry see). */
  #loadedModel: string | null = null;
  #current: CurrentJob | undefined;
  readonly #counters = { jobs_done: 0, jobs_failed: 0, engine_restarts: 0, model_switches: 0, busy_ms: 0 };
  #lastError: SlotStatus["last_error"] = null;
  readonly #startedAt = new Date().toISOString();
  /** Stop the heartbeat, and the pending progress publish. */
  #stopHeartbeat: (() => void) | undefined;
  #stopProgressTick: (() => void) | undefined;
  #publishing: Promise<void> = Promise.resolve();

  constructor(plan: SlotPlan, ctx: SlotStatusContext, logger: Logger, gpuName: () => string | null) {
    this.#plan = plan;
    this.#ctx = ctx;
    this.#logger = logger;
    this.#gpuName = gpuName;
  }

  get state(): SlotState {
    return this.#state;
  }

  get loadedModel(): string | null {
    return this.#loadedModel;
  }

  set loadedModel(model: string | null) {
    this.#loadedModel = model;
  }

  get currentTaskId(): string | undefined {
    return this.#current?.taskId;
  }

  /** Publishes now and then every `intervalMs` (on the process's shared tick) until `stop`. */
  startHeartbeat(intervalMs: number): void {
    this.#stopHeartbeat?.();
    this.#stopHeartbeat = SharedTick.every(intervalMs).add(() => this.publish());
    this.publish();
  }

  setState(state: SlotState, error?: string): void {
    if (error) this.#lastError = { at: new Date().toISOString(), task_id: null, message: error };
    if (state === this.#state && !error) return;
    this.#state = state;
    this.publish();
  }

  jobStarted(taskId: string, queue: string): void {
    this.#current = { taskId, queue, startedAt: Date.now(), progress: null };
  }

  jobProgress(progress: JobProgress): void {
    if (this.#current) this.#current.progress = progress;
    this.#stopProgressTick ??= SharedTick.every(PROGRESS_PUBLISH_MS).add(() => {
      this.#stopProgressTick?.();
      this.#stopProgressTick = undefined;
      this.publish();
    });
  }

  /** The running job is over (`end` is undefined when it ended by throwing). */
  jobEnded(end: JobEnd | undefined): void {
    const current = this.#current;
    if (!current) return;
    this.#counters.busy_ms += Date.now() - current.startedAt;
    this.#current = undefined;
    if (end?.kind === "completed") this.#counters.jobs_done += 1;
    if (end?.kind === "failed" || end?.kind === "quarantined") {
      this.#counters.jobs_failed += 1;
      this.#lastError = { at: new Date().toISOString(), task_id: current.taskId, message: end.message };
    }
  }

  /** Shows the engine's restarts, recycles and giving up (and counts the restarts). */
  followEngine(engine: EngineSupervisor): void {
    engine.on("restarting", ({ attempt, delayMs }) => {
      this.count("engine_restarts");
      this.#logger.warn({ attempt, delayMs }, "engine restarting");
      this.setState("restarting");
    });
    engine.on("recycling", () => this.setState("restarting"));
    engine.on("gave-up", (error) => {
      this.#logger.error({ err: error }, "engine could not be restarted; the slot stops");
      this.setState("stopped", `engine could not be restarted: ${error.message}`);
    });
  }

  /** Counts an event in this slot's status and in the farm's counters. */
  count(counter: FarmCounter): void {
    this.#counters[counter] += 1;
    void bestEffort(this.#ctx.stats.increment(counter), this.#logger, `counting ${counter}`);
  }

  /** Writes the status after the writes before it. */
  publish(): void {
    const status = this.status();
    this.#publishing = this.#publishing.then(async () => {
      await bestEffort(
        this.#ctx.registry.publish(status),
        this.#logger,
        "publishing the slot status",
        "warn",
      );
    });
  }

  /** Runs `work` once the status writes so far have landed. */
  afterPublished(work: () => Promise<unknown>): Promise<void> {
    return this.#publishing.then(async () => {
      await work();
    });
  }

  /** Stops publishing and takes the status out of the registry. */
  async remove(): Promise<void> {
    this.stop();
    this.#state = "stopped";
    await this.afterPublished(() => this.#ctx.registry.remove(this.#plan.slotId));
  }

  stop(): void {
    this.#stopHeartbeat?.();
    this.#stopHeartbeat = undefined;
    this.#stopProgressTick?.();
    this.#stopProgressTick = undefined;
  }

  status(): SlotStatus {
    const current = this.#current;
    return {
      slot_id: this.#plan.slotId,
      host: this.#plan.host,
      gpu_index: this.#plan.gpuIndex,
      gpu_name: this.#plan.gpuName ?? this.#gpuName(),
      worker_name: this.#plan.slotId,
      pid: process.pid,
      state: this.#state,
      loaded_model: this.#loadedModel,
      current: current
        ? {
            task_id: current.taskId,
            queue: current.queue,
            started_at: new Date(current.startedAt).toISOString(),
            progress: current.progress,
          }
        : null,
      ...this.#counters,
      busy_ms: this.#counters.busy_ms + (current ? Date.now() - current.startedAt : 0),
      started_at: this.#startedAt,
      last_error: this.#lastError,
      updated_at: new Date().toISOString(),
    };
  }
}
