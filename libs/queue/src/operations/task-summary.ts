import type { Job } from "bullmq";
import { modelOfQueue } from "../records/farm-keys.js";
import type { TaskState } from "./task-state.js";

/** One task as `wgp-farm ls` and the dashboard list it. */
export interface TaskSummary {
  task_id: string;
  state: TaskState;
  queue: string | null;
  model: string | null;
  /** The start of the prompt. */
  name: string | null;
  attempts_made: number;
  /** Percent done while active (from the job's progress object), else null. */
  percent: number | null;
  created_at: string | null;
  finished_at: string | null;
  /** The error of the last failed attempt, if any. */
  failed_reason: string | null;
}

/** The error of one failed attempt. */
export interface AttemptError {
  attempt: number;
  message: string;
}

export function isoTime(ms: number | undefined | null): string | null {
  return typeof ms === "number" && Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : null;
}

/** Percent done of a job's progress: a plain number, or the `percent` of a progress object. */
export function percentOf(progress: unknown): number | null {
  if (typeof progress === "number") return progress;
  if (progress && typeof progress === "object" && "percent" in progress) {
    const percent = (progress as { percent: unknown }).percent;
    return typeof percent === "number" ? percent : null;
  }
  return null;
}

/** A task's model: from the task itself (quarantined jobs keep it), else from the queue name. */
export function modelOfJob(job: Job, queueName: string): string | null {
  const task = (job.data as { task?: { model?: unknown } } | undefined)?.task;
  if (typeof task?.model === "string") return task.model;
  return modelOfQueue(queueName) ?? null;
}

/** The first line of an error's stack: its message. */
export function messageOfStack(stack: string): string {
  const line = stack.split("\n", 1)[0] ?? "";
  return line.startsWith("Error: ") ? line.slice("Error: ".length) : line;
}

/**
 * The error of each failed attempt, oldest first. BullMQ keeps one stack per failure (maybe capped by
 * `stackTraceLimit`, hence the offset); a failure decided inside Redis (a job stalled too often)
 * leaves only `failedReason`.
 */
export function attemptErrors(job: Job): AttemptError[] {
  const stacks = (job.stacktrace ?? []).filter((stack): stack is string => typeof stack === "string");
  const offset = Math.max(job.attemptsMade - stacks.length, 0);
  const errors = stacks.map((stack, i) => ({ attempt: offset + i + 1, message: messageOfStack(stack) }));
  const last = errors.at(-1);
  if (job.failedReason && last?.message !== job.failedReason) {
    errors.push({ attempt: Math.max(job.attemptsMade, (last?.attempt ?? 0) + 1), message: job.failedReason });
  }
  return errors;
}

export function summarizeJob(job: Job, queueName: string, state: TaskState): TaskSummary {
  return {
    task_id: String(job.id),
    state,
    queue: queueName,
    model: modelOfJob(job, queueName),
    name: job.name ?? null,
    attempts_made: job.attemptsMade ?? 0,
    percent: state === "active" ? percentOf(job.progress) : null,
    created_at: isoTime(job.timestamp),
    finished_at: isoTime(job.finishedOn),
    failed_reason: job.failedReason || null,
  };
}
