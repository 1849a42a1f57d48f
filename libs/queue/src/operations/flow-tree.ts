import { FlowProducer, type Job, type JobNode } from "bullmq";
import { CANCELLED_REASON_PREFIX } from "../records/cancelled-records.js";
import type { FarmConnection } from "../records/farm-connection.js";
import { STITCH_QUEUE } from "../records/step-job.js";
import { redisErrorListener } from "../redis/redis-connection.js";
import { dependantsOf } from "./flow-cascade.js";
import { type TaskState, taskStateOfJob } from "./task-state.js";

/** One job of a flow as `status` shows it: the root is what runs last, its children what it waits for. */
export interface FlowTreeNode {
  task_id: string;
  queue: string;
  kind: "task" | "step" | "stitch";
  state: TaskState;
  /** Why it failed, in the farm's words ("seg_02 failed: …" for a failure that came from a dependency). */
  failed_reason: string | null;
  children: FlowTreeNode[];
}

/** BullMQ's reason for a parent failed by its child (`failParentOnFailure`). */
const CHILD_FAILED = /^child (.+) failed$/;
/** Flows are at most this deep and wide (a 1000-segment chain is 1000 deep). */
const FLOW_READ_LIMIT = 10_000;

/** A BullMQ job key (`<prefix>:<queue>:<id>`), as queue and id. */
function jobOfKey(farm: FarmConnection, key: string) {
  const rest = key.slice(farm.keys.prefix.length + 1);
  const cut = rest.lastIndexOf(":");
  return { key, queue: rest.slice(0, cut), id: rest.slice(cut + 1) };
}

/** The job key in BullMQ's "child <key> failed", as queue and id. */
function failedChildOf(farm: FarmConnection, reason: string | null | undefined) {
  const match = reason?.match(CHILD_FAILED);
  return match ? jobOfKey(farm, match[1] as string) : undefined;
}

/** Where a failure that came up through a flow started: the job that failed first, and its own error. */
export interface FirstFailure {
  task_id: string;
  error: string;
}

/**
 * Follows a failure that came from a dependency down to the job that failed first: through BullMQ's
 * "child <key> failed", and through the dependency a job recorded when it failed in its own words
 * (`wgpFlowCause`, see dependencyFailureOf). Null when `reason` did not come from a dependency.
 */
export async function firstFailureOf(
  farm: FarmConnection,
  reason: string | null,
): Promise<FirstFailure | null> {
  const seen = new Set<string>();
  let first: FirstFailure | null = null;
  let child = failedChildOf(farm, reason);
  while (child && !seen.has(child.key)) {
    seen.add(child.key);
    const failed = await farm.queues.byName(child.queue).getJob(child.id);
    first = { task_id: child.id, error: failed?.failedReason || "failed" };
    const cause = failed ? await farm.redis.hget(child.key, "wgpFlowCause") : null;
    child = cause ? jobOfKey(farm, cause) : failedChildOf(farm, first.error);
  }
  return first;
}

/**
 * A failure reason, with a failure that came up from a dependency told as what failed first:
 * BullMQ says "child wgp:model.t2v:seg_02 failed"; this says "seg_02 failed: out of memory".
 */
export async function describeFlowFailure(
  farm: FarmConnection,
  reason: string | null,
): Promise<string | null> {
  const first = await firstFailureOf(farm, reason);
  if (!first) return reason;
  return CHILD_FAILED.test(first.error) ? first.error : `${first.task_id} failed: ${first.error}`;
}

/** A job's failure reason, in the farm's words (see describeFlowFailure). */
export function flowFailureReason(farm: FarmConnection, job: Job): Promise<string | null> {
  return describeFlowFailure(farm, job.failedReason || null);
}

/**
 * For a runner that fetched a job BullMQ marked to fail because a job it depends on failed
 * (`job.deferredFailure`, set by `failParentOnFailure`): why it must fail without running, or null.
 * It records the failed dependency on the job, so that retrying that dependency resumes this one.
 */
export async function dependencyFailureOf(farm: FarmConnection, job: Job): Promise<string | null> {
  if (!(await recordFailedDependency(farm, job))) return null;
  return describeFlowFailure(farm, job.deferredFailure ?? null);
}

/**
 * Like dependencyFailureOf, for a runner that tells the failure in its own words: the job that
 * failed first and its error, or null when no dependency failed.
 */
export async function firstFailedDependencyOf(farm: FarmConnection, job: Job): Promise<FirstFailure | null> {
  if (!(await recordFailedDependency(farm, job))) return null;
  return firstFailureOf(farm, job.deferredFailure ?? null);
}

/** Records on a job marked to fail which dependency failed, so that retrying that one resumes it. */
async function recordFailedDependency(farm: FarmConnection, job: Job): Promise<boolean> {
  const child = failedChildOf(farm, job.deferredFailure);
  if (!child) return false;
  await farm.redis.hset(farm.keys.jobKey(job.queueName, job.id as string), "wgpFlowCause", child.key);
  return true;
}

function kindOf(queue: string, data: unknown): FlowTreeNode["kind"] {
  if (queue === STITCH_QUEUE) return "stitch";
  return (data as { kind?: unknown } | undefined)?.kind === "step" ? "step" : "task";
}

async function stateOf(job: Job): Promise<TaskState> {
  const state = taskStateOfJob(await job.getState());
  // Every task with a priority sits in BullMQ's prioritized set; to an operator it waits.
  if (state === "prioritized") return "waiting";
  if (state === "failed" && (job.failedReason ?? "").startsWith(CANCELLED_REASON_PREFIX)) return "cancelled";
  return state;
}

async function toTree(farm: FarmConnection, node: JobNode): Promise<FlowTreeNode> {
  const { job } = node;
  const children = await Promise.all((node.children ?? []).map((child) => toTree(farm, child)));
  children.sort((a, b) => a.task_id.localeCompare(b.task_id));
  return {
    task_id: job.id as string,
    queue: job.queueName,
    kind: kindOf(job.queueName, job.data),
    state: await stateOf(job),
    failed_reason: await flowFailureReason(farm, job),
    children,
  };
}

/**
 * The whole flow a job belongs to, from its root down; null for a job outside any flow. Read with
 * BullMQ's own flow reader, which follows pending, processed, failed and ignored dependencies.
 */
export async function readFlowTree(
  farm: FarmConnection,
  job: Job,
  queue: string,
): Promise<FlowTreeNode | null> {
  const chain = await dependantsOf(farm, job);
  const root = chain.at(-1) ?? { id: job.id as string, queue };
  if (chain.length === 0) {
    const counts = await job.getDependenciesCount();
    if (!Object.values(counts).some((count) => count > 0)) return null;
  }
  const reader = new FlowProducer({ connection: farm.redis, prefix: farm.keys.prefix });
  reader.on("error", redisErrorListener(farm.redis, "flow reader"));
  try {
    const flow = await reader.getFlow({
      id: root.id,
      queueName: root.queue,
      depth: FLOW_READ_LIMIT,
      maxChildren: FLOW_READ_LIMIT,
    });
    return flow ? await toTree(farm, flow) : null;
  } finally {
    await reader.close();
  }
}
