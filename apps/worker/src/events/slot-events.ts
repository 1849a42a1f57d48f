import type { Logger } from "@wgp-farm/config";
import type { EngineSupervisor } from "@wgp-farm/engine";
import {
  type EngineRestartStep,
  type FarmEventInput,
  FarmEvents,
  FarmKeys,
  type JobProgress,
  modelOfQueue,
} from "@wgp-farm/queue";
import type { Redis } from "ioredis";
import type { SlotPlan } from "../gpu-detection.js";
import type { HeldJob, JobEnd } from "../job/job-finisher.js";

/** Least time between two `progress` events of one task (a phase change goes out at once). */
export const PROGRESS_EVENT_MS = 1_000;

interface Running {
  taskId: string;
  model: string;
  phase: string | null;
  percent: number | null;
  progressAt: number;
}

/**
 * What one slot tells the farm's event log about the job it runs: started, phase changes, progress
 * (at most once a second, and only when the percentage moved), and how the attempt ended; and about
 * its engine: each restart, recycle and giving up, and the engine ready again (`engine_restart`), so
 * that the GPU timeline shows the time a restart took. Writes are not awaited by the slot and never
 * throw into it (`FarmEvents.record`); they share the slot's connection, so they land in the order
 * they happened.
 */
export class SlotEvents {
  readonly #plan: SlotPlan;
  readonly #events: FarmEvents;
  #running: Running | undefined;

  constructor(plan: SlotPlan, redis: Redis, prefix: string, logger: Logger) {
    this.#plan = plan;
    this.#events = new FarmEvents(redis, new FarmKeys(prefix), { logger });
  }

  started(held: HeldJob): void {
    // A post-step's data has no task: its model is its queue's (`post.<kind>`).
    const model = held.job.data.task?.model ?? modelOfQueue(held.queue) ?? held.queue;
    this.#running = { taskId: held.taskId, model, phase: null, percent: null, progressAt: 0 };
    this.#record("started", { queue: held.queue, attempt: held.job.attemptsStarted });
  }

  progress(progress: JobProgress): void {
    const running = this.#running;
    if (!running) return;
    const { phase, percent, step, total, eta_s } = progress;
    if (phase !== running.phase) {
      running.phase = phase;
      this.#record("phase", { phase });
    }
    const now = Date.now();
    if (percent === null || percent === running.percent || now - running.progressAt < PROGRESS_EVENT_MS)
      return;
    running.percent = percent;
    running.progressAt = now;
    this.#record("progress", { phase, percent, step, total, eta_s });
  }

  /** The attempt is over; `end` is undefined when it ended by throwing (nothing to tell). */
  ended(held: HeldJob, end: JobEnd | undefined): void {
    if (this.#running?.taskId !== held.taskId) return;
    switch (end?.kind) {
      case "completed": {
        const { main_file, files, seed, timings } = end.summary;
        const fileList = files.map(({ name, size }) => ({ name, size }));
        this.#record("completed", { main_file, files: fileList, seed, timings });
        break;
      }
      case "failed":
        this.#record("failed", { error: end.message, retrying: end.retrying }, end.retrying);
        break;
      case "cancelled":
        this.#record("cancelled", { reason: end.message });
        break;
      case "quarantined":
        this.#record("quarantined", { reason: end.message });
        break;
      case "requeued":
        this.#record("requeued", {});
        break;
      default:
        // A lost lock: the attempt that holds the job now tells its own story.
        break;
    }
    this.#running = undefined;
  }

  /** Records the engine's restarts, recycles and giving up, and its return after them. */
  followEngine(engine: EngineSupervisor): void {
    // The first start is no restart: only a start after one of these says the restart is over.
    let restarting = false;
    engine.on("restarting", ({ attempt, delayMs }) => {
      restarting = true;
      this.#recordEngine("restarting", { attempt, delay_ms: delayMs });
    });
    engine.on("recycling", ({ reason }) => {
      restarting = true;
      this.#recordEngine("recycling", { reason });
    });
    engine.on("ready", () => {
      if (!restarting) return;
      restarting = false;
      this.#recordEngine("ready", {});
    });
    engine.on("gave-up", (error) => {
      restarting = false;
      this.#recordEngine("gave_up", { error: error.message });
    });
  }

  /** An engine event names the task the slot was running when it happened, or none between tasks. */
  #recordEngine(step: EngineRestartStep, data: Record<string, unknown>): void {
    void this.#events.record({
      type: "engine_restart",
      task_id: this.#running?.taskId ?? "",
      model: this.#running?.model ?? "",
      slot: this.#plan.slotId,
      host: this.#plan.host,
      data: { step, ...data },
    });
  }

  #record(type: FarmEventInput["type"], data: Record<string, unknown>, retrying = false): void {
    const running = this.#running;
    if (!running) return;
    void this.#events.record({
      type,
      task_id: running.taskId,
      model: running.model,
      slot: this.#plan.slotId,
      host: this.#plan.host,
      data,
      ...(retrying ? { state: "waiting" as const } : {}),
    });
  }
}
