import type { Job } from "bullmq";
import { CancelChannel } from "../records/cancel-channel.js";
import { CANCELLED_REASON_PREFIX, type CancelledTaskRecord } from "../records/cancelled-records.js";
import type { FarmConnection } from "../records/farm-connection.js";
import { dependantsOf, failWaitingFlowJobs, flowLinkOf, isFlowJob } from "./flow-cascade.js";

export type CancelOutcome = "removed" | "cancelling" | "already-finished" | "not-found";

export interface CancelTaskResult {
  task_id: string;
  /**
   * `removed`: it had not started; its job is gone and a cancel record stays (in a flow, the job
   * stays, failed with a `cancelled: …` reason, so that a retry finds its place in the flow). `cancelling`: it runs
   * (or its worker died and it is about to be re-queued); the slot running it stops it. Otherwise
   * nothing was done.
   */
  outcome: CancelOutcome;
  /** The state the task was in when the cancel arrived (`cancelled` for a task cancelled before). */
  state: string;
  /** In a flow: the jobs that depended on it and were cancelled with it. */
  dependants?: string[];
}

const NOT_STARTED = new Set(["waiting", "wait", "prioritized", "delayed", "waiting-children", "paused"]);
const FINISHED = new Set(["completed", "failed"]);

/**
 * Cancels a task wherever it is. A task that has not started is removed from its queue and leaves a
 * cancel record (it "ends cancelled", it is never silently gone). A running task gets a cancel
 * request that reaches its slot on any host; the slot stops the engine and fails the job with a
 * `cancelled: …` reason, without retry.
 */
export async function cancelTask(
  farm: FarmConnection,
  taskId: string,
  reason?: string,
): Promise<CancelTaskResult> {
  const { redis, keys, queues } = farm;
  const [queueName, previous] = await Promise.all([
    redis.hget(keys.taskIndex, taskId),
    redis.hexists(keys.cancelled, taskId),
  ]);
  const job = queueName ? await queues.byName(queueName).getJob(taskId) : undefined;
  if (!queueName || !job) {
    return previous === 1
      ? { task_id: taskId, outcome: "already-finished", state: "cancelled" }
      : { task_id: taskId, outcome: "not-found", state: "unknown" };
  }
  const state = await job.getState();
  if (FINISHED.has(state)) return { task_id: taskId, outcome: "already-finished", state };
  if (await isFlowJob(job)) return cancelFlowJob(farm, job, queueName, state, reason);
  if (NOT_STARTED.has(state)) {
    try {
      await job.remove();
      const record: CancelledTaskRecord = {
        task_id: taskId,
        queue: queueName,
        reason: reason ?? null,
        cancelled_at: new Date().toISOString(),
        state,
        task: job.data?.task ?? null,
        import: job.data?.import ?? null,
      };
      await redis.hset(keys.cancelled, taskId, JSON.stringify(record));
      return { task_id: taskId, outcome: "removed", state };
    } catch {
      // It was taken by a slot between the state read and the removal: cancel it as a running task.
    }
  }
  await new CancelChannel(redis, keys).request(taskId, reason);
  return { task_id: taskId, outcome: "cancelling", state: NOT_STARTED.has(state) ? "active" : state };
}

/**
 * Cancels a job of a flow and everything that depends on it. The jobs stay, failed with a
 * `cancelled: …` reason, and keep their place in the flow: `retry` of the cancelled task runs it
 * again and puts its dependants back to wait for it. Other branches of the flow go on.
 */
async function cancelFlowJob(
  farm: FarmConnection,
  job: Job,
  queueName: string,
  state: string,
  reason: string | undefined,
): Promise<CancelTaskResult> {
  const taskId = job.id as string;
  const own = flowLinkOf(farm, queueName, taskId);
  const chain = await dependantsOf(farm, job);
  const why = `${CANCELLED_REASON_PREFIX}${reason ?? "cancelled by request"}`;
  const dependants = chain.map((link, i) => ({
    link,
    reason: `${CANCELLED_REASON_PREFIX}'${taskId}' was cancelled`,
    cause: i === 0 ? own : (chain[i - 1] ?? null),
  }));
  const failed = await failWaitingFlowJobs(farm, [
    ...(NOT_STARTED.has(state) ? [{ link: own, reason: why, cause: null }] : []),
    ...dependants,
  ]);
  const cascaded = failed.filter((id) => id !== taskId);
  if (failed.includes(taskId)) return { task_id: taskId, outcome: "removed", state, dependants: cascaded };
  await new CancelChannel(farm.redis, farm.keys).request(taskId, reason);
  return {
    task_id: taskId,
    outcome: "cancelling",
    state: NOT_STARTED.has(state) ? "active" : state,
    dependants: cascaded,
  };
}
