import type { Job } from "bullmq";
import { readCancelledRecord } from "./cancelled-records.js";
import type { FarmConnection } from "./farm-connection.js";
import { QUARANTINE_QUEUE } from "./farm-keys.js";
import { resolveModels } from "./queue-pause.js";
import { TaskIndex } from "./task-index.js";
import {
  DEFAULT_RETRY_POLICY,
  jobNameFor,
  jobOptionsFor,
  type RetryPolicy,
  type TaskJobData,
} from "./task-job.js";
import { findTaskJob } from "./task-lookup.js";
import { type TaskState, taskStateOfJob } from "./task-state.js";

export type RetryOutcome = "retried" | "not-retriable" | "not-found";

export interface RetryResult {
  task_id: string;
  outcome: RetryOutcome;
  /** The state the task was in before the retry. */
  state: TaskState | null;
  queue: string | null;
  /** Why a task was not retried. */
  message: string | null;
}

/**
 * Queues a failed (or quarantined) task again, with a fresh count of attempts. Any other state is
 * refused with the reason: a waiting or running task needs no retry, a completed or cancelled one is
 * run again by re-importing it with --rerun.
 */
export async function retryTask(farm: FarmConnection, taskId: string): Promise<RetryResult> {
  const indexedQueue = await new TaskIndex(farm.redis, farm.keys).queueOf(taskId);
  const found = await findTaskJob(farm, taskId, indexedQueue);
  if (!found) {
    const cancelled = await readCancelledRecord(farm, taskId);
    if (!indexedQueue && !cancelled) {
      return { task_id: taskId, outcome: "not-found", state: null, queue: null, message: "unknown task id" };
    }
    return {
      task_id: taskId,
      outcome: "not-retriable",
      state: cancelled ? "cancelled" : "missing",
      queue: indexedQueue,
      message: cancelled
        ? "the task was cancelled; re-import it with import-tasks --rerun to run it again"
        : "the task has no job any more; re-import it to run it again",
    };
  }
  const { job, queueName } = found;
  if (queueName === QUARANTINE_QUEUE) {
    return { ...(await requeueQuarantined(farm, job)), task_id: taskId };
  }
  const state = taskStateOfJob(await job.getState());
  if (state !== "failed") {
    const hint = state === "completed" ? "; re-import it with import-tasks --rerun to run it again" : "";
    return {
      task_id: taskId,
      outcome: "not-retriable",
      state,
      queue: queueName,
      message: `the task is ${state}${hint}`,
    };
  }
  await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
  return { task_id: taskId, outcome: "retried", state, queue: queueName, message: null };
}

/** Retries every failed task of the named models (every model when none is named). */
export async function retryAllFailed(
  farm: FarmConnection,
  models: readonly string[] = [],
): Promise<RetryResult[]> {
  const results: RetryResult[] = [];
  for (const model of await resolveModels(farm, models)) {
    const ids = await farm.queues.forModel(model).getRanges(["failed"], 0, -1, true);
    for (const id of ids) results.push(await retryTask(farm, id));
  }
  return results;
}

/**
 * Moves a quarantined task back into its model queue as a fresh job (the quarantine job, which
 * holds its history, is removed), with the attempts policy it was imported with.
 */
async function requeueQuarantined(
  farm: FarmConnection,
  quarantined: Job,
): Promise<Omit<RetryResult, "task_id">> {
  const taskId = String(quarantined.id);
  const data = quarantined.data as Partial<TaskJobData>;
  if (!data.task || !data.import) {
    return {
      outcome: "not-retriable",
      state: "quarantined",
      queue: QUARANTINE_QUEUE,
      message: "the quarantine record holds no task to queue again",
    };
  }
  const target = farm.queues.forModel(data.task.model);
  await (await target.getJob(taskId))?.remove();
  const policy: RetryPolicy = {
    attempts: quarantined.opts.attempts ?? DEFAULT_RETRY_POLICY.attempts,
    backoffMs: backoffDelayOf(quarantined) ?? DEFAULT_RETRY_POLICY.backoffMs,
  };
  await farm.queues.registerModels([data.task.model]);
  await target.add(
    jobNameFor(data.task),
    { task: data.task, import: data.import },
    jobOptionsFor(data.task, policy),
  );
  await farm.redis.hset(farm.keys.taskIndex, taskId, target.name);
  await quarantined.remove();
  return { outcome: "retried", state: "quarantined", queue: QUARANTINE_QUEUE, message: null };
}

function backoffDelayOf(job: Job): number | undefined {
  const backoff = job.opts.backoff;
  return typeof backoff === "object" ? backoff.delay : backoff;
}
