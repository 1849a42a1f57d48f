import type { Logger } from "@wgp-farm/config";
import type { Job } from "bullmq";
import { readCancelledRecord, readCancelledRecords } from "../records/cancelled-records.js";
import type { FarmConnection } from "../records/farm-connection.js";
import { modelQueueName, QUARANTINE_QUEUE } from "../records/farm-keys.js";
import { TaskIndex } from "../records/task-index.js";
import type { TaskJobData } from "../records/task-job.js";
import {
  type SearchDoc,
  type SearchQuery,
  searchDocOf,
  TaskSearchIndex,
} from "../records/task-search-index.js";
import { summarizeCancelled } from "./task-listing.js";
import { findTaskJob } from "./task-lookup.js";
import { ALL_JOB_TYPES, type TaskStateFilter, taskStateOfJob } from "./task-state.js";
import { summarizeJob, type TaskSummary } from "./task-summary.js";

export interface SearchTasksOptions extends SearchQuery {
  state?: TaskStateFilter | undefined;
  /** At most this many tasks, newest first (default 50). */
  limit?: number | undefined;
}

/** Tasks whose state is read at once while a search resolves its matches. */
const STATE_BATCH = 50;
/** Jobs read per page while backfilling. */
const BACKFILL_PAGE = 500;

function stateMatches(summary: TaskSummary, filter: TaskStateFilter | undefined): boolean {
  if (!filter) return true;
  if (filter === "waiting") return summary.state === "waiting" || summary.state === "prioritized";
  return summary.state === filter;
}

/** The task as `ls` lists it, or null when it is gone (its job removed, no cancel record). */
async function summaryOf(farm: FarmConnection, doc: SearchDoc): Promise<TaskSummary | null> {
  const queue = await new TaskIndex(farm.redis, farm.keys).queueOf(doc.task_id);
  const found = await findTaskJob(farm, doc.task_id, queue);
  if (found) {
    const state =
      found.queueName === QUARANTINE_QUEUE ? "quarantined" : taskStateOfJob(await found.job.getState());
    return summarizeJob(found.job, found.queueName, state);
  }
  const cancelled = await readCancelledRecord(farm, doc.task_id);
  return cancelled ? summarizeCancelled(cancelled) : null;
}

/**
 * Finds tasks by id prefix, words of the prompt, model, state and import time, newest first, from the
 * farm's search index (`ls --search` and the dashboard give the same answer). Index entries of tasks
 * that are gone are dropped on the way.
 */
export async function searchTasks(
  farm: FarmConnection,
  options: SearchTasksOptions,
  logger?: Logger,
): Promise<TaskSummary[]> {
  const index = TaskSearchIndex.of(farm, logger);
  if (!(await index.backfilled())) await backfillSearchIndex(farm, logger);
  const limit = options.limit ?? 50;
  const found: TaskSummary[] = [];
  const gone: string[] = [];
  let batch: SearchDoc[] = [];
  const resolve = async () => {
    const summaries = await Promise.all(batch.map((doc) => summaryOf(farm, doc)));
    summaries.forEach((summary, i) => {
      if (!summary) gone.push((batch[i] as SearchDoc).task_id);
      else if (found.length < limit && stateMatches(summary, options.state)) found.push(summary);
    });
    batch = [];
  };
  for await (const doc of index.matching(options)) {
    batch.push(doc);
    if (batch.length >= STATE_BATCH) await resolve();
    if (found.length >= limit) break;
  }
  if (batch.length > 0) await resolve();
  await index.remove(gone);
  return found;
}

function docOfJob(job: Job<TaskJobData>): SearchDoc | null {
  const task = job.data?.task;
  return task?.task_id && task.model && typeof task.prompt === "string"
    ? searchDocOf(task, job.timestamp)
    : null;
}

/**
 * Indexes the tasks imported before the search index existed: every job of the model queues and the
 * quarantine queue, and the cancel records. Safe to run twice (a task's document is the same).
 * Returns how many tasks the index holds afterwards.
 */
export async function backfillSearchIndex(farm: FarmConnection, logger?: Logger): Promise<number> {
  const index = TaskSearchIndex.of(farm, logger);
  const names = [...(await farm.queues.knownModels()).map(modelQueueName), QUARANTINE_QUEUE];
  for (const name of names) {
    const queue = farm.queues.byName(name);
    // One type at a time: BullMQ applies the range to each type of a list separately.
    for (const type of ALL_JOB_TYPES) {
      for (let start = 0; ; start += BACKFILL_PAGE) {
        const jobs = (await queue.getJobs([type], start, start + BACKFILL_PAGE - 1)) as Job<TaskJobData>[];
        await index.add(jobs.map(docOfJob).filter((doc): doc is SearchDoc => doc !== null));
        if (jobs.length < BACKFILL_PAGE) break;
      }
    }
  }
  const cancelled: SearchDoc[] = [];
  for await (const record of readCancelledRecords(farm)) {
    if (record.task)
      cancelled.push(
        searchDocOf(record.task, Date.parse(record.import?.imported_at ?? record.cancelled_at) || 0),
      );
  }
  await index.add(cancelled);
  await index.markBackfilled();
  return index.size();
}
