import { mediaTypeOfModel, type PostStep, postStepMediaProblem, type TaskIssue } from "@wgp-farm/tasks";
import { FLOW_FAILURE_OPTIONS, type FlowNode, stepNodeOf } from "../intake/flow-plan.js";
import { RedisFlowSink } from "../intake/redis-flow-sink.js";
import type { FarmConnection } from "../records/farm-connection.js";
import { modelOfQueue } from "../records/farm-keys.js";
import { POST_STEP_KINDS, STITCH_QUEUE, stepJobId } from "../records/step-job.js";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "../records/task-job.js";
import { findTaskJob } from "./task-lookup.js";
import { taskStateOfJob } from "./task-state.js";

export type PostprocessOutcome = "queued" | "refused" | "not-found";

export interface PostprocessResult {
  task_id: string;
  outcome: PostprocessOutcome;
  /** The step jobs added, in the order they run. */
  steps: string[];
  /** Why nothing was added (with what to do). */
  message: string | null;
  errors: TaskIssue[];
}

/** The chain a finished task already has (from `then`, or an earlier postprocess): the highest index and its job. */
async function existingChainEnd(
  farm: FarmConnection,
  taskId: string,
): Promise<{ index: number; jobId: string; queue: string } | null> {
  let end: { index: number; jobId: string; queue: string } | null = null;
  for (let index = 1; ; index++) {
    const ids = POST_STEP_KINDS.map((kind) => ({ id: stepJobId(taskId, index, kind), kind }));
    const queues = await farm.redis.hmget(farm.keys.taskIndex, ...ids.map(({ id }) => id));
    const found = ids.findIndex((_, i) => queues[i] !== null);
    if (found === -1) return end;
    end = { index, jobId: ids[found]?.id as string, queue: queues[found] as string };
  }
}

function refused(taskId: string, message: string, errors: TaskIssue[] = []): PostprocessResult {
  return { task_id: taskId, outcome: "refused", steps: [], message, errors };
}

/**
 * Adds post-steps to a finished task without generating it again: a chain of step jobs, each on
 * the output of the one before, the first on the task's output (or on the end of the chain it
 * already has). Refuses a task that has not completed, and a step its output cannot take.
 */
export async function postprocessTask(
  farm: FarmConnection,
  taskId: string,
  steps: readonly PostStep[],
  retry: RetryPolicy = DEFAULT_RETRY_POLICY,
): Promise<PostprocessResult> {
  const indexed = await farm.redis.hget(farm.keys.taskIndex, taskId);
  const found = await findTaskJob(farm, taskId, indexed);
  if (!found)
    return { task_id: taskId, outcome: "not-found", steps: [], message: "unknown task id", errors: [] };
  const { job, queueName } = found;
  const state = taskStateOfJob(await job.getState());
  if (state !== "completed") {
    const hint =
      state === "failed" || state === "quarantined"
        ? `retry it first (wgp-farm retry ${taskId}), then post-process it once it has completed`
        : `wait until it completes, or give the steps in its task file's "then" when you import it`;
    return refused(taskId, `the task is ${state}, not completed: ${hint}`);
  }
  const model = modelOfQueue(queueName);
  const media = queueName === STITCH_QUEUE || model === undefined ? "video" : mediaTypeOfModel(model);
  if (steps.length === 0) return refused(taskId, "name at least one post-step");
  const errors = steps.flatMap((step) => {
    const problem = postStepMediaProblem(step, media);
    return problem ? [{ path: step.kind, message: problem }] : [];
  });
  if (errors.length > 0) return refused(taskId, "its output cannot take these steps", errors);

  const chainEnd = await existingChainEnd(farm, taskId);
  if (chainEnd) {
    const endState = await farm.queues.byName(chainEnd.queue).getJobState(chainEnd.jobId);
    if (endState !== "completed")
      return refused(
        taskId,
        `its post-step ${chainEnd.jobId} is ${endState}: let it finish (or retry it) first`,
      );
  }
  const data = job.data as { task?: { output_sub_dir?: string }; output_sub_dir?: string; priority?: number };
  const rootOutputSubDir = data.task?.output_sub_dir ?? data.output_sub_dir ?? taskId;
  const info = {
    source: "postprocess",
    imported_at: new Date().toISOString(),
    seed_generated: false,
    warnings: [],
  };
  const first = (chainEnd?.index ?? 0) + 1;
  let sourceId = chainEnd?.jobId ?? taskId;
  let chain: FlowNode | null = null;
  const nodes: FlowNode[] = [];
  for (const [i, step] of steps.entries()) {
    const node = stepNodeOf({
      rootTaskId: taskId,
      rootOutputSubDir,
      index: first + i,
      step,
      sourceId,
      priority: job.priority || data.priority || 100,
      info,
      opts: {
        priority: job.priority || data.priority || 100,
        attempts: retry.attempts,
        backoff: { type: "exponential", delay: retry.backoffMs },
        removeOnComplete: false,
        removeOnFail: false,
        ...FLOW_FAILURE_OPTIONS,
      },
    });
    if (chain) node.children.push(chain);
    chain = node;
    nodes.push(node);
    sourceId = node.id;
  }
  const added = await new RedisFlowSink(farm).addFlow(chain as FlowNode, nodes);
  if (added.outcome === "dir-taken")
    return refused(
      taskId,
      `output folder '${added.taken[0]?.node.output_sub_dir}' is taken by ${added.taken[0]?.owner}`,
    );
  return { task_id: taskId, outcome: "queued", steps: nodes.map(({ id }) => id), message: null, errors: [] };
}
