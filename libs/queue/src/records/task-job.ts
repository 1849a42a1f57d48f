import type { Task, TaskIssue } from "@wgp-farm/tasks";
import type { JobsOptions } from "bullmq";

/** How a task came into the farm; kept with the job and written to task.json. */
export interface TaskImportInfo {
  /** The tasks file (absolute path), `-` for stdin, or another producer's name. */
  source: string;
  imported_at: string;
  /** True when the task had no seed (or -1) and the importer drew one. */
  seed_generated: boolean;
  warnings: TaskIssue[];
}

/** The data of every BullMQ job in a model queue. */
export interface TaskJobData {
  task: Task;
  import: TaskImportInfo;
}

export interface RetryPolicy {
  /** Attempts per task for retryable failures (OOM, engine crash, hang). */
  attempts: number;
  /** First retry delay; doubles each attempt. */
  backoffMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 3, backoffMs: 15_000 };

const JOB_NAME_LENGTH = 60;

/** Bull Board lists jobs by name: the start of the prompt tells an operator what a job is. */
export function jobNameFor(task: Task): string {
  const oneLine = task.prompt.replace(/\s+/g, " ").trim();
  return oneLine.length > JOB_NAME_LENGTH ? `${oneLine.slice(0, JOB_NAME_LENGTH - 1)}…` : oneLine;
}

/**
 * Job options for a task. Finished jobs are kept: they are the record that makes re-imports
 * idempotent and that `status` and the dashboard show (`wgp-farm clean` removes old ones).
 */
export function jobOptionsFor(task: Task, retry: RetryPolicy): JobsOptions {
  return {
    jobId: task.task_id,
    priority: task.priority,
    attempts: retry.attempts,
    backoff: { type: "exponential", delay: retry.backoffMs },
    removeOnComplete: false,
    removeOnFail: false,
  };
}
