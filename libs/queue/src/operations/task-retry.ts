import type { Job } from "bullmq";
import { readCancelledRecord } from "../records/cancelled-records.js";
import type { FarmConnection } from "../records/farm-connection.js";
import { FarmEvents } from "../records/farm-events.js";
import { modelOfQueue, QUARANTINE_QUEUE } from "../records/farm-keys.js";
import { TaskIndex } from "../records/task-index.js";
import {
  DEFAULT_RETRY_POLICY,
  jobNameFor,
  jobOptionsFor,
  type RetryPolicy,
  type TaskJobData,
} from "../records/task-job.js";
import { isFlowJob, restoreDependants } from "./flow-cascade.js";
import { flowFailureReason } from "./flow-tree.js";
import { resolveModels } from "./queue-pause.js";
import { findTaskJob, isQuarantinedOriginal } from "./task-lookup.js";
import { type TaskState, taskStateOfJob } from "./task-state.js";

export type RetryOutcome = "retried" | "not-retriable" | "not-found";

export interface RetryResult {
  task_id: string;
  outcome: RetryOutcome;
  /** The state the task was in before the retry. */
  state: TaskState | null;
  /** The queue the task is in now (its model queue once retried). */
  queue: string | null;
  /** Why a task was not retried. */
  message: string | null;
  /** In a flow: the dependants put back to wait for it (they failed or were cancelled with it). */
  resumed?: string[];
}

function hasTask(data: unknown): data is TaskJobData {
  const { task, import: info } = (data ?? {}) as Partial<TaskJobData>;
  return typeof task?.task_id === "string" && typeof task.model === "string" && info !== undefined;
}

function policyOf(job: Job | undefined): RetryPolicy {
  const backoff = job?.opts.backoff;
  const delay = typeof backoff === "object" ? backoff.delay : backoff;
  return {
    attempts: job?.opts.attempts ?? DEFAULT_RETRY_POLICY.attempts,
    backoffMs: delay ?? DEFAULT_RETRY_POLICY.backoffMs,
  };
}

/**
 * Queues a task again as a fresh job in its model queue (replacing a finished job of the same id
 * there), and points the task index at it.
 */
async function requeue(farm: FarmConnection, data: TaskJobData, policy: RetryPolicy): Promise<string> {
  const { task } = data;
  const target = farm.queues.forModel(task.model);
  await (await target.getJob(task.task_id))?.remove();
  await farm.queues.registerModels([task.model]);
  await target.add(jobNameFor(task), { task, import: data.import }, jobOptionsFor(task, policy));
  await farm.redis.hset(farm.keys.taskIndex, task.task_id, target.name);
  await farm.work.announce([task.model], "retry", [task.task_id]);
  return target.name;
}

function refused(taskId: string, state: TaskState, queue: string | null, message: string): RetryResult {
  return { task_id: taskId, outcome: "not-retriable", state, queue, message };
}

/**
 * Runs a failed, quarantined or cancelled task again, with a fresh count of attempts. Any other state
 * is refused with the reason: a waiting or running task needs no retry, and a completed one is run
 * again by re-importing it with --rerun (its output is kept until then).
 */
export async function retryTask(farm: FarmConnection, taskId: string): Promise<RetryResult> {
  const indexedQueue = await new TaskIndex(farm.redis, farm.keys).queueOf(taskId);
  const found = await findTaskJob(farm, taskId, indexedQueue);
  if (!found) {
    const cancelled = await readCancelledRecord(farm, taskId);
    if (!cancelled) {
      return indexedQueue
        ? refused(
            taskId,
            "missing",
            indexedQueue,
            "the task has no job any more; re-import it to run it again",
          )
        : { task_id: taskId, outcome: "not-found", state: null, queue: null, message: "unknown task id" };
    }
    const data = { task: cancelled.task, import: cancelled.import };
    if (!hasTask(data)) return refused(taskId, "cancelled", indexedQueue, "the cancel record holds no task");
    const queue = await requeue(farm, data, DEFAULT_RETRY_POLICY);
    await farm.redis.hdel(farm.keys.cancelled, taskId);
    await FarmEvents.of(farm).queued([data.task]);
    return { task_id: taskId, outcome: "retried", state: "cancelled", queue, message: null };
  }
  const { job, queueName } = found;
  if (queueName === QUARANTINE_QUEUE) {
    if (!hasTask(job.data)) {
      return refused(taskId, "quarantined", queueName, "the quarantine record holds no task");
    }
    const original = await farm.queues.forModel(job.data.task.model).getJob(taskId);
    const queue = await requeue(farm, job.data, policyOf(original ?? job));
    await job.remove();
    await FarmEvents.of(farm).queued([job.data.task]);
    return { task_id: taskId, outcome: "retried", state: "quarantined", queue, message: null };
  }
  const state = taskStateOfJob(await job.getState());
  if (state !== "failed") {
    const hint = state === "completed" ? "; re-import it with import-tasks --rerun to run it again" : "";
    return refused(taskId, state, queueName, `the task is ${state}${hint}`);
  }
  const inFlow = await isFlowJob(job);
  if (inFlow) {
    const cause = await failedDependencyOf(farm, job);
    if (cause) return refused(taskId, state, queueName, cause);
  }
  // Dependants first: once this job runs again, its completion must find them waiting for it.
  const resumed = inFlow ? await restoreDependants(farm, job, queueName) : [];
  await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
  await farm.redis.hdel(farm.keys.cancelled, taskId);
  if (hasTask(job.data)) await FarmEvents.of(farm).queued([job.data.task]);
  await farm.work.announce([modelOfQueue(queueName) ?? ""], "retry", [taskId]);
  return {
    task_id: taskId,
    outcome: "retried",
    state,
    queue: queueName,
    message: null,
    ...(inFlow ? { resumed } : {}),
  };
}

/**
 * Why a flow job that failed because of a job it depends on cannot be retried by itself (it would
 * run without that job's output), or null when it failed for a reason of its own.
 */
async function failedDependencyOf(farm: FarmConnection, job: Job): Promise<string | null> {
  const cause = await farm.redis.hget(farm.keys.jobKey(job.queueName, job.id as string), "wgpFlowCause");
  const reason = job.failedReason ?? "";
  if (!cause && !/^child .+ failed$/.test(reason)) return null;
  const told = cause ? reason : await flowFailureReason(farm, job);
  return `it stopped because a task it depends on did (${told}): retry that task, and the flow resumes from there`;
}

/**
 * Retries every failed task of the named models (every model when none is named). Quarantined tasks
 * are left alone: they kept killing workers, and each is retried only by name.
 */
export async function retryAllFailed(
  farm: FarmConnection,
  models: readonly string[] = [],
): Promise<RetryResult[]> {
  const results: RetryResult[] = [];
  for (const model of await resolveModels(farm, models)) {
    const queue = farm.queues.forModel(model);
    for (const id of await queue.getRanges(["failed"], 0, -1, true)) {
      const job = await queue.getJob(id);
      if (!job || (await isQuarantinedOriginal(job))) continue;
      results.push(await retryTask(farm, id));
    }
  }
  return results;
}
