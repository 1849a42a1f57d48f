import type { Job } from "bullmq";
import type { FarmConnection } from "../records/farm-connection.js";
import { FAIL_FLOW_JOBS_SCRIPT, RESTORE_FLOW_CHAIN_SCRIPT } from "./scripts/flow-scripts.js";

/** One job of a flow, with the Redis keys the cascade scripts need. */
export interface FlowLink {
  id: string;
  queue: string;
  jobKey: string;
  queueKey: string;
}

type FailCommand = (...args: string[]) => Promise<number[]>;
type RestoreCommand = (...args: string[]) => Promise<number>;

function linkOf(farm: FarmConnection, queue: string, id: string): FlowLink {
  const jobKey = farm.keys.jobKey(queue, id);
  return { id, queue, jobKey, queueKey: jobKey.slice(0, -(id.length + 1)) };
}

/** The queue name inside a BullMQ queue key (`<prefix>:<queue>`). */
function queueOfKey(farm: FarmConnection, queueKey: string): string {
  return queueKey.slice(farm.keys.prefix.length + 1);
}

function commands(farm: FarmConnection): { fail: FailCommand; restore: RestoreCommand } {
  const redis = farm.redis as unknown as Record<string, unknown>;
  if (!("wgpFailFlowJobs" in redis)) {
    farm.redis.defineCommand("wgpFailFlowJobs", { numberOfKeys: 0, lua: FAIL_FLOW_JOBS_SCRIPT });
    farm.redis.defineCommand("wgpRestoreFlowChain", { numberOfKeys: 0, lua: RESTORE_FLOW_CHAIN_SCRIPT });
  }
  const bound = farm.redis as unknown as {
    wgpFailFlowJobs: FailCommand;
    wgpRestoreFlowChain: RestoreCommand;
  };
  return {
    fail: bound.wgpFailFlowJobs.bind(farm.redis),
    restore: bound.wgpRestoreFlowChain.bind(farm.redis),
  };
}

/** The jobs that depend on `job`, nearest first, up to its flow's root (BullMQ parents). */
export async function dependantsOf(farm: FarmConnection, job: Job): Promise<FlowLink[]> {
  const chain: FlowLink[] = [];
  const seen = new Set<string>();
  let parent = job.parent;
  while (parent?.id && parent.queueKey && !seen.has(`${parent.queueKey}:${parent.id}`)) {
    const { id, queueKey } = parent;
    seen.add(`${queueKey}:${id}`);
    const queue = queueOfKey(farm, queueKey);
    const parentJob = await farm.queues.byName(queue).getJob(id);
    if (!parentJob) break;
    chain.push(linkOf(farm, queue, id));
    parent = parentJob.parent;
  }
  return chain;
}

/** Whether a job takes part in a flow: it has a dependant or dependencies. */
export async function isFlowJob(job: Job): Promise<boolean> {
  if (job.parentKey) return true;
  const counts = await job.getDependenciesCount();
  return Object.values(counts).some((count) => count > 0);
}

/**
 * Fails jobs that have not started, each with its reason, and takes each out of its parent's
 * pending dependencies. Returns the ids that were failed (a job that runs or finished is left).
 */
export async function failWaitingFlowJobs(
  farm: FarmConnection,
  jobs: readonly { link: FlowLink; reason: string; cause: FlowLink | null }[],
): Promise<string[]> {
  if (jobs.length === 0) return [];
  const args = jobs.flatMap(({ link, reason, cause }) => [
    link.jobKey,
    link.queueKey,
    link.id,
    reason,
    cause?.jobKey ?? "",
  ]);
  const moved = await commands(farm).fail(String(Date.now()), ...args);
  return jobs.flatMap(({ link }, i) => (moved[i] === 1 ? [link.id] : []));
}

/**
 * Puts back into waiting-children the dependants that failed because `job` failed (or was
 * cancelled), from the nearest up: once `job` runs again, the flow resumes where it stopped.
 * Returns the ids of the dependants restored.
 */
export async function restoreDependants(farm: FarmConnection, job: Job, queue: string): Promise<string[]> {
  const chain = await dependantsOf(farm, job);
  if (chain.length === 0) return [];
  let child = linkOf(farm, queue, job.id as string);
  const args: string[] = [];
  for (const parent of chain) {
    args.push(child.jobKey, parent.jobKey, parent.queueKey, parent.id);
    child = parent;
  }
  const restored = await commands(farm).restore(String(Date.now()), ...args);
  return chain.slice(0, restored).map(({ id }) => id);
}

export { linkOf as flowLinkOf };
