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

/** The job key in BullMQ's "child <key> failed", as queue and id. */
function failedChildOf(farm: FarmConnection, reason: string | null | undefined) {
  const match = reason?.match(CHILD_FAILED);
  if (!match) return undefined;
  const key = match[1] as string;
  const rest = key.slice(farm.keys.prefix.length + 1);
  const cut = rest.lastIndexOf(":");
  return { key, queue: rest.slice(0, cut), id: rest.slice(cut + 1) };
}

/**
 * A failure reason, with a failure that came up from a dependency told as what failed first:
 * BullMQ says "child wgp:model.t2v:seg_02 failed"; this says "seg_02 failed: out of memory".
 */
export async function describeFlowFailure(
  farm: FarmConnection,
  reason: string | null,
): Promise<string | null> {
  const seen = new Set<string>();
  let current = reason;
  for (let child = failedChildOf(farm, current); child; child = failedChildOf(farm, current)) {
    if (seen.has(child.key)) break;
    seen.add(child.key);
    const failed = await farm.queues.byName(child.queue).getJob(child.id);
    current = failed?.failedReason || "failed";
    if (!CHILD_FAILED.test(current)) return `${child.id} failed: ${current}`;
  }
  return current;
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
  const child = failedChildOf(farm, job.deferredFailure);
  if (!child) return null;
  await farm.redis.hset(farm.keys.jobKey(job.queueName, job.id as string), "wgpFlowCause", child.key);
  return describeFlowFailure(farm, job.deferredFailure ?? null);
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
