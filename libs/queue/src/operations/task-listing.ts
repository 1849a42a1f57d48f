import { type CancelledTaskRecord, readCancelledRecords } from "../records/cancelled-records.js";
import type { FarmConnection } from "../records/farm-connection.js";
import { modelOfQueue, modelQueueName, QUARANTINE_QUEUE } from "../records/farm-keys.js";
import { jobNameFor } from "../records/task-job.js";
import { isQuarantinedOriginal } from "./task-lookup.js";
import { ALL_JOB_TYPES, JOB_TYPES_OF_FILTER, type TaskStateFilter, taskStateOfJob } from "./task-state.js";
import { isoTime, summarizeJob, type TaskSummary } from "./task-summary.js";

export interface ListTasksOptions {
  state?: TaskStateFilter | undefined;
  /** Only tasks of this model type. */
  model?: string | undefined;
  /** At most this many tasks, most recent first (default 50). */
  limit?: number | undefined;
}

function recency(task: TaskSummary): number {
  return Date.parse(task.finished_at ?? task.created_at ?? "") || 0;
}

async function listQueue(
  farm: FarmConnection,
  queueName: string,
  state: TaskStateFilter | undefined,
  /** Null: every job. */
  limit: number | null,
): Promise<TaskSummary[]> {
  const queue = farm.queues.byName(queueName);
  const types =
    state && state !== "quarantined" && state !== "cancelled" ? JOB_TYPES_OF_FILTER[state] : ALL_JOB_TYPES;
  const jobs = await queue.getJobs(types, 0, limit === null ? -1 : limit - 1);
  if (queueName === QUARANTINE_QUEUE) return jobs.map((job) => summarizeJob(job, queueName, "quarantined"));
  const summaries = await Promise.all(
    jobs.map(async (job) =>
      // The failed original of a quarantined task is listed once, from the quarantine queue.
      (await isQuarantinedOriginal(job))
        ? null
        : summarizeJob(job, queueName, taskStateOfJob(await job.getState())),
    ),
  );
  return summaries.filter((summary): summary is TaskSummary => summary !== null);
}

export function summarizeCancelled(record: CancelledTaskRecord): TaskSummary {
  const queue = record.queue || null;
  return {
    task_id: record.task_id,
    state: "cancelled",
    queue,
    model: record.task?.model ?? (queue ? (modelOfQueue(queue) ?? null) : null),
    name: record.task ? jobNameFor(record.task) : null,
    attempts_made: 0,
    percent: null,
    created_at: record.import?.imported_at ?? null,
    finished_at: isoTime(Date.parse(record.cancelled_at)),
    failed_reason: record.reason,
  };
}

async function listCancelled(farm: FarmConnection, model: string | undefined): Promise<TaskSummary[]> {
  const tasks: TaskSummary[] = [];
  for await (const record of readCancelledRecords(farm)) {
    const summary = summarizeCancelled(record);
    if (!model || summary.model === model) tasks.push(summary);
  }
  return tasks;
}

/**
 * Tasks across the queues tasks wait in (and the quarantine queue and the cancel records), filtered by state
 * and model, most recently finished or created first.
 */
export async function listTasks(
  farm: FarmConnection,
  options: ListTasksOptions = {},
): Promise<TaskSummary[]> {
  const limit = options.limit ?? 50;
  const { state, model } = options;
  const sources: Promise<TaskSummary[]>[] = [];
  if (state !== "quarantined" && state !== "cancelled") {
    const names = model ? [modelQueueName(model)] : await farm.queues.taskQueueNames();
    for (const name of names) sources.push(listQueue(farm, name, state, limit));
  }
  if (!state || state === "quarantined") {
    sources.push(
      // The quarantine queue mixes models: read it whole when filtering by one (it stays small).
      listQueue(farm, QUARANTINE_QUEUE, state, model ? null : limit).then((tasks) =>
        model ? tasks.filter((task) => task.model === model) : tasks,
      ),
    );
  }
  if (!state || state === "cancelled") sources.push(listCancelled(farm, model));
  const tasks = (await Promise.all(sources)).flat();
  return tasks.sort((a, b) => recency(b) - recency(a)).slice(0, limit);
}
