import { type CancelledRecord, cancelledAtMs, readCancelledRecords } from "./cancelled-records.js";
import type { FarmConnection } from "./farm-connection.js";
import { modelOfQueue, modelQueueName, QUARANTINE_QUEUE } from "./farm-keys.js";
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
  const quarantined = queueName === QUARANTINE_QUEUE;
  return Promise.all(
    jobs.map(async (job) =>
      summarizeJob(job, queueName, quarantined ? "quarantined" : taskStateOfJob(await job.getState())),
    ),
  );
}

function summarizeCancelled(record: CancelledRecord): TaskSummary {
  const queue = typeof record.queue === "string" ? record.queue : null;
  const model =
    typeof record.model === "string" ? record.model : queue ? (modelOfQueue(queue) ?? null) : null;
  return {
    task_id: record.task_id,
    state: "cancelled",
    queue,
    model,
    name: typeof record.name === "string" ? record.name : null,
    attempts_made: 0,
    percent: null,
    created_at: null,
    finished_at: isoTime(cancelledAtMs(record)),
    failed_reason: typeof record.reason === "string" ? record.reason : null,
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
 * Tasks across the model queues (and the quarantine queue and the cancel records), filtered by state
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
    const models = model ? [model] : await farm.queues.knownModels();
    for (const name of models) sources.push(listQueue(farm, modelQueueName(name), state, limit));
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
