import type { Task } from "@wgp-farm/tasks";
import { CANCELLED_REASON_PREFIX } from "../records/cancelled-records.js";
import type { FarmConnection } from "../records/farm-connection.js";
import { FarmEvents } from "../records/farm-events.js";
import { modelQueueName, QUARANTINE_QUEUE } from "../records/farm-keys.js";
import { jobNameFor, jobOptionsFor, type RetryPolicy, type TaskJobData } from "../records/task-job.js";
import { TaskSearchIndex } from "../records/task-search-index.js";
import type { ImportReport } from "./import-report.js";
import { RedisFlowSink } from "./redis-flow-sink.js";
import { confirmOnReplica, REPLICA_ACK_TIMEOUT_MS } from "./replica-ack.js";
import { CLAIM_TASKS_SCRIPT } from "./scripts/claim-tasks.js";
import { type ImportOptions, type PendingTask, recordInvalid, type TaskSink } from "./task-importer.js";

type ClaimReply = ["claimed" | "exists" | "dir-taken", string];
interface ClaimCommand {
  wgpClaimTasks(...keysAndArgs: string[]): Promise<unknown>;
}

interface ToAdd {
  pending: PendingTask;
  note?: string;
}

const FINISHED_STATES = new Set(["completed", "failed", "quarantined", "cancelled"]);

/**
 * Puts tasks into their model queues, with jobId = task_id. Safe to re-run at any point: a task id
 * is claimed atomically in the task index (with its output folder) before its job is added, and a
 * claimed id whose job is missing (an import that died in between) is repaired by the next import.
 * A batch counts as accepted once a replica has it too, when the primary has replicas.
 */
export class RedisTaskSink implements TaskSink {
  /** Flows go in through the same claims, as BullMQ flows. */
  readonly flows: RedisFlowSink;

  constructor(
    private readonly farm: FarmConnection,
    readonly retry: RetryPolicy,
    private readonly replicaAckTimeoutMs = REPLICA_ACK_TIMEOUT_MS,
  ) {
    if (!("wgpClaimTasks" in farm.redis)) {
      farm.redis.defineCommand("wgpClaimTasks", { numberOfKeys: 2, lua: CLAIM_TASKS_SCRIPT });
    }
    this.flows = new RedisFlowSink(farm, replicaAckTimeoutMs);
  }

  async accept(batch: readonly PendingTask[], report: ImportReport, options: ImportOptions): Promise<void> {
    const claims = await this.claim(batch);
    const toAdd: ToAdd[] = [];
    const known: { pending: PendingTask; queue: string }[] = [];
    batch.forEach((pending, i) => {
      const [outcome, value] = claims[i] as ClaimReply;
      if (outcome === "claimed") toAdd.push({ pending });
      else if (outcome === "exists") known.push({ pending, queue: value });
      else {
        const message = `output folder '${pending.task.output_sub_dir}' is already used by task '${value}'`;
        const entry = {
          index: pending.index,
          task_id: pending.task.task_id,
          line: pending.line,
          errors: [{ path: "output_sub_dir", message }],
        };
        recordInvalid(report, options, entry, pending.raw);
      }
    });
    await Promise.all(
      known.map(({ pending, queue }) => this.resolveKnown(pending, queue, report, options, toAdd)),
    );
    await this.addJobs(toAdd, report);
    // Until then nothing is acknowledged: a failure here fails the whole import, which is safe to repeat.
    await confirmOnReplica(this.farm.redis, this.replicaAckTimeoutMs);
    await this.farm.work.announce(
      batch.map(({ task }) => task.model),
      "add",
    );
  }

  private async claim(batch: readonly PendingTask[]): Promise<ClaimReply[]> {
    const { redis, keys } = this.farm;
    const args = batch.flatMap(({ task }) => [task.task_id, modelQueueName(task.model), task.output_sub_dir]);
    const flat = (await (redis as unknown as ClaimCommand).wgpClaimTasks(
      keys.taskIndex,
      keys.outputDirs,
      ...args,
    )) as string[];
    return batch.map((_, i) => [flat[2 * i], flat[2 * i + 1]] as ClaimReply);
  }

  /** A task id the index already knows: skip it, re-run it, or repair a half-done import. */
  private async resolveKnown(
    pending: PendingTask,
    queueName: string,
    report: ImportReport,
    options: ImportOptions,
    toAdd: ToAdd[],
  ): Promise<void> {
    const { redis, keys, queues } = this.farm;
    const { task, index } = pending;
    const queue = queues.byName(queueName);
    const state = await this.stateOf(queueName, task.task_id);
    if (state === "unknown") {
      const cancelled = (await redis.hexists(keys.cancelled, task.task_id)) === 1;
      if (cancelled && !options.rerun) {
        report.skipped.push({ index, task_id: task.task_id, queue: queueName, state: "cancelled" });
        return;
      }
      if (cancelled) await redis.hdel(keys.cancelled, task.task_id);
      await this.moveIndexEntry(task, queueName);
      toAdd.push({
        pending,
        note: cancelled ? "rerun of a cancelled task" : "repaired: the task was indexed but had no job",
      });
      return;
    }
    if (!options.rerun || !FINISHED_STATES.has(state)) {
      report.skipped.push({ index, task_id: task.task_id, queue: queueName, state });
      return;
    }
    const job = await queue.getJob(task.task_id);
    const jobState = state === "quarantined" || state === "cancelled" ? "failed" : state;
    if (job && modelQueueName(task.model) === queueName) {
      await job.updateData({ task, import: pending.info });
      await job.retry(jobState as "completed" | "failed", {
        resetAttemptsMade: true,
        resetAttemptsStarted: true,
      });
      report.imported.push({ index, task_id: task.task_id, queue: queueName, note: `rerun (was ${state})` });
      return;
    }
    await job?.remove();
    // A quarantined task's failed original still holds its id in the model queue.
    await this.removeFinishedJob(modelQueueName(task.model), task.task_id);
    await this.moveIndexEntry(task, queueName);
    toAdd.push({ pending, note: `rerun (was ${state} in ${queueName})` });
  }

  /** The task's state as an operator knows it: quarantined and cancelled tasks are told apart from failed ones. */
  private async stateOf(queueName: string, taskId: string): Promise<string> {
    if (queueName === QUARANTINE_QUEUE) {
      return (await this.farm.queues.byName(queueName).getJob(taskId)) ? "quarantined" : "unknown";
    }
    const queue = this.farm.queues.byName(queueName);
    const state = await queue.getJobState(taskId);
    if (state !== "failed") return state;
    const reason = (await queue.getJob(taskId))?.failedReason ?? "";
    return reason.startsWith(CANCELLED_REASON_PREFIX) ? "cancelled" : "failed";
  }

  private async removeFinishedJob(queueName: string, taskId: string): Promise<void> {
    const job = await this.farm.queues.byName(queueName).getJob(taskId);
    if (job && FINISHED_STATES.has(await job.getState())) await job.remove();
  }

  private async moveIndexEntry(task: Task, fromQueue: string): Promise<void> {
    const { redis, keys } = this.farm;
    const targetQueue = modelQueueName(task.model);
    if (targetQueue !== fromQueue) await redis.hset(keys.taskIndex, task.task_id, targetQueue);
    await redis.hset(keys.outputDirs, task.output_sub_dir, task.task_id);
  }

  private async addJobs(entries: readonly ToAdd[], report: ImportReport): Promise<void> {
    const byModel = Map.groupBy(entries, (entry) => entry.pending.task.model);
    await this.farm.queues.registerModels(byModel.keys());
    await Promise.all(
      [...byModel.entries()].map(async ([model, list]) => {
        const queue = this.farm.queues.forModel(model);
        await queue.addBulk(
          list.map(({ pending }) => ({
            name: jobNameFor(pending.task),
            data: { task: pending.task, import: pending.info } satisfies TaskJobData,
            opts: jobOptionsFor(pending.task, this.retry),
          })),
        );
        await FarmEvents.of(this.farm).queued(list.map(({ pending }) => pending.task));
        await TaskSearchIndex.of(this.farm).queued(list.map(({ pending }) => pending.task));
        for (const { pending, note } of list) {
          report.imported.push({
            index: pending.index,
            task_id: pending.task.task_id,
            queue: queue.name,
            ...(note ? { note } : {}),
          });
        }
      }),
    );
  }
}
