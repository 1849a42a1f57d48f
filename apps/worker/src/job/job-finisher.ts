import { bestEffort, type Logger } from "@wgp-farm/config";
import {
  type AttemptRecord,
  CANCELLED_REASON_PREFIX,
  type CancelChannel,
  type FarmStats,
  type LostAttempts,
  type TaskJobData,
} from "@wgp-farm/queue";
import type { Job } from "bullmq";
import type { ResultSummary } from "../output/result-manifest.js";
import { type AttemptHistory, crashesIn } from "./attempt-history.js";
import { errorForQueue, type JobFailure } from "./job-failure.js";
import type { JobProgressReporter } from "./job-progress.js";
import type { Quarantine } from "./quarantine.js";

/** How an attempt ended, for the slot's counters and status. */
export type JobEnd =
  | { kind: "completed"; summary: ResultSummary }
  | { kind: "failed"; message: string; retrying: boolean }
  | { kind: "cancelled"; message: string }
  | { kind: "quarantined"; message: string }
  | { kind: "requeued" }
  | { kind: "lock-lost"; message: string };

/** One attempt's job, its lock token and where it came from. */
export interface HeldJob {
  job: Job<TaskJobData>;
  token: string;
  queue: string;
  taskId: string;
}

/** What a JobFinisher needs: where attempts, cancel flags, quarantined jobs and farm counters go. */
export interface JobFinisherContext {
  stats: FarmStats;
  history: AttemptHistory;
  cancels: CancelChannel;
  quarantine: Quarantine;
  lostAttempts: LostAttempts;
}

/**
 * Moves a job to where its attempt's end puts it (completed, failed and maybe retried, cancelled,
 * quarantined, back to its queue), and keeps the attempt history, cancel flags and farm counters in
 * step. Each move needs the job's lock; a move refused for a lost lock is logged, not thrown.
 */
export class JobFinisher {
  readonly #ctx: JobFinisherContext;
  readonly #slotId: string;
  readonly #logger: Logger;

  constructor(ctx: JobFinisherContext, slotId: string, logger: Logger) {
    this.#ctx = ctx;
    this.#slotId = slotId;
    this.#logger = logger;
  }

  async completed(held: HeldJob, summary: ResultSummary): Promise<JobEnd> {
    // The attempt record and a late cancel flag go at the same time as the completion.
    await Promise.all([
      this.#move(held, () => held.job.moveToCompleted(summary, held.token, false)),
      this.#forget(held.taskId),
    ]);
    await this.#ctx.stats.increment("completed");
    return { kind: "completed", summary };
  }

  async cancelled(held: HeldJob, reason: string | null, attempts: readonly AttemptRecord[]): Promise<JobEnd> {
    const message = `${CANCELLED_REASON_PREFIX}${reason ?? "cancel requested"} (stopped on ${this.#slotId})`;
    await this.#ctx.history.end(held.taskId, attempts, "cancelled", message);
    await this.#move(held, () => held.job.moveToFailed(errorForQueue(message, [], false), held.token, false));
    await this.#forget(held.taskId);
    await this.#ctx.stats.increment("cancelled");
    return { kind: "cancelled", message };
  }

  /** Back to its queue, at the front of its priority, without counting an attempt (drain, shutdown). */
  async requeued(held: HeldJob, attempts: readonly AttemptRecord[], why: string): Promise<JobEnd> {
    await this.#ctx.history.end(held.taskId, attempts, "requeued", why);
    await this.#move(held, () => held.job.moveToWait(held.token));
    return { kind: "requeued" };
  }

  async failed(
    held: HeldJob,
    failure: JobFailure,
    attempts: readonly AttemptRecord[],
    progress: JobProgressReporter,
  ): Promise<JobEnd> {
    const { job } = held;
    progress.log(failure.message);
    for (const line of failure.details) progress.log(line);
    await progress.flush();
    const ended = await this.#ctx.history.end(held.taskId, attempts, failure.outcome, failure.message);
    const incidents = { stalls: job.stalledCounter ?? 0, crashes: crashesIn(ended) };
    if (failure.outcome !== "failed" && this.#ctx.quarantine.due(incidents)) {
      return this.quarantined(held, incidents, ended);
    }
    const retrying = failure.retryable && job.attemptsMade + 1 < (job.opts.attempts ?? 1);
    this.#logger.warn(
      { task_id: held.taskId, error: failure.message, attempt: job.attemptsStarted, retrying },
      "job attempt failed",
    );
    await this.#move(held, () =>
      job.moveToFailed(errorForQueue(failure.message, failure.details, failure.retryable), held.token, false),
    );
    if (retrying) {
      await this.#ctx.stats.increment("retried");
    } else {
      await this.#forget(held.taskId);
      await this.#ctx.stats.increment("failed");
    }
    return { kind: "failed", message: failure.message, retrying };
  }

  async quarantined(
    held: HeldJob,
    incidents: { stalls: number; crashes: number },
    attempts: readonly AttemptRecord[],
  ): Promise<JobEnd> {
    // An attempt that just crashed keeps that outcome; one quarantined on pickup records it.
    const recorded =
      attempts.at(-1)?.outcome === "running"
        ? await this.#ctx.history.end(held.taskId, attempts, "quarantined", null)
        : attempts;
    let message = this.#ctx.quarantine.reasonFor(incidents);
    await this.#move(held, async () => {
      message = await this.#ctx.quarantine.quarantine(held.job, held.token, held.queue, incidents, recorded);
    });
    this.#logger.error({ task_id: held.taskId, ...incidents }, message);
    await this.#forget(held.taskId);
    await this.#ctx.stats.increment("quarantined");
    return { kind: "quarantined", message };
  }

  /**
   * An attempt that lost its job to another attempt touches neither the job nor its outcome: it
   * only marks itself lost in the attempt history and counts the GPU time it spent for nothing.
   */
  async lost(held: HeldJob, attempt: AttemptRecord | undefined, why: string, gpuMs: number): Promise<JobEnd> {
    const { history, lostAttempts, stats } = this.#ctx;
    const record = async () => {
      await Promise.all([
        attempt && history.lost(held.taskId, attempt, why),
        lostAttempts.record(held.taskId, {
          attempt: held.job.attemptsStarted,
          slot: this.#slotId,
          started_at: attempt?.started_at ?? new Date(Date.now() - gpuMs).toISOString(),
          lost_at: new Date().toISOString(),
          gpu_ms: gpuMs,
          why,
        }),
        stats.increment("lost_attempts"),
        stats.increment("wasted_gpu_ms", gpuMs),
      ]);
    };
    await bestEffort(record, this.#logger, "recording the lost attempt", "warn");
    return { kind: "lock-lost", message: why };
  }

  async #move(held: HeldJob, move: () => Promise<unknown>): Promise<void> {
    try {
      await move();
    } catch (error) {
      this.#logger.warn(
        { err: error, task_id: held.taskId },
        "could not finish the job in Redis (its lock was lost; another slot runs it now)",
      );
    }
  }

  async #forget(taskId: string): Promise<void> {
    await Promise.all([this.#ctx.history.forget(taskId), this.#ctx.cancels.clear(taskId)]);
  }
}
