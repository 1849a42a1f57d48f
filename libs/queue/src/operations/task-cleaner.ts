import type { Job, JobType } from "bullmq";
import type { FarmConnection } from "../records/farm-connection.js";
import { QUARANTINE_QUEUE } from "../records/farm-keys.js";
import { type RemovedTask, TaskIndex } from "../records/task-index.js";
import { resolveQueues } from "./queue-pause.js";
import { isQuarantinedOriginal } from "./task-lookup.js";
import { ALL_JOB_TYPES } from "./task-state.js";
import { isoTime, modelOfJob } from "./task-summary.js";

export const CLEANABLE_STATES = ["completed", "failed", "quarantined"] as const;
export type CleanableState = (typeof CLEANABLE_STATES)[number];

export interface CleanOptions {
  state: CleanableState;
  /** Only jobs that finished (or, for unfinished states, were created) longer ago than this. */
  olderThanMs: number;
  /** Only this model's tasks. */
  model?: string | undefined;
  /** Report what would be removed; remove nothing. */
  dryRun?: boolean | undefined;
  /** Also remove the removed tasks' results kept where this store keeps them (a bucket). */
  results?: StoredResults | undefined;
}

/**
 * Where results are kept apart from the farm's folders (a bucket), as `clean` sees it: which result
 * locations it holds (a job's `output_dir`), and how to remove one.
 */
export interface StoredResults {
  holds(outputDir: string): boolean;
  remove(outputDir: string): Promise<void>;
}

/** What happened to the stored results of the removed tasks. */
export interface ResultsCleanReport {
  /** Removed (or, in a dry run, to be removed). */
  removed: string[];
  /** Kept: a task the farm still has owns the same output folder. */
  kept: { output_dir: string; task_id: string }[];
  failed: { output_dir: string; error: string }[];
}

export interface CleanedTask {
  task_id: string;
  queue: string;
  model: string | null;
  finished_at: string | null;
}

export interface CleanReport {
  state: CleanableState;
  older_than_ms: number;
  dry_run: boolean;
  removed: CleanedTask[];
  /** Present when the clean was asked to remove stored results too. */
  results?: ResultsCleanReport;
}

export interface RemoveJobsOptions {
  types: readonly JobType[];
  olderThanMs: number;
  /** Extra condition a job must meet to be removed. */
  filter?: (job: Job) => boolean;
  dryRun?: boolean;
  /** Told of each job removed (or, in a dry run, that would be). */
  onRemoved?: (job: Job) => void;
}

const BATCH = 200;

function removedTaskOf(job: Job): RemovedTask {
  const subDir = (job.data as { task?: { output_sub_dir?: unknown } } | undefined)?.task?.output_sub_dir;
  return { task_id: String(job.id), output_sub_dir: typeof subDir === "string" ? subDir : undefined };
}

/** Removes each job; a job a worker holds cannot be removed and is left out of the result. */
async function removeEach(jobs: readonly Job[]): Promise<Job[]> {
  const outcomes = await Promise.allSettled(jobs.map((job) => job.remove()));
  return jobs.filter((_, i) => outcomes[i]?.status === "fulfilled");
}

/**
 * Removes the jobs of some states of one queue that are older than a cutoff, and forgets the removed
 * tasks in the farm's indexes. Finished jobs are aged by when they finished, others by when they were
 * created. Shared by `wgp-farm clean` and the dashboard's clean, empty and remove actions.
 */
export async function removeQueueJobs(
  farm: FarmConnection,
  queueName: string,
  options: RemoveJobsOptions,
): Promise<CleanedTask[]> {
  const queue = farm.queues.byName(queueName);
  const index = new TaskIndex(farm.redis, farm.keys);
  const cutoff = Date.now() - options.olderThanMs;
  const ids = await queue.getRanges([...options.types], 0, -1, true);
  const removed: CleanedTask[] = [];
  for (let start = 0; start < ids.length; start += BATCH) {
    const jobs = await Promise.all(ids.slice(start, start + BATCH).map((id) => queue.getJob(id)));
    const old = jobs.filter(
      (job): job is Job =>
        job !== undefined && (job.finishedOn || job.timestamp) <= cutoff && (options.filter?.(job) ?? true),
    );
    const gone = options.dryRun ? old : await removeEach(old);
    if (!options.dryRun) await index.forget(gone.map(removedTaskOf));
    for (const job of gone) {
      options.onRemoved?.(job);
      removed.push({
        task_id: String(job.id),
        queue: queueName,
        model: modelOfJob(job, queueName),
        finished_at: isoTime(job.finishedOn),
      });
    }
  }
  return removed;
}

/** A quarantined task's failed original in its model queue goes with its quarantine record. */
async function removeQuarantinedOriginals(
  farm: FarmConnection,
  removed: readonly CleanedTask[],
): Promise<void> {
  for (const { task_id: taskId, model } of removed) {
    const original = model ? await farm.queues.forModel(model).getJob(taskId) : undefined;
    if (original && (await isQuarantinedOriginal(original))) await original.remove();
  }
}

/** Where each completed task's result was published (its job's return value), by task id. */
interface PublishedResult {
  outputDir: string;
  outputSubDir: string;
}

function publishedResultOf(job: Job): PublishedResult | undefined {
  const outputDir = (job.returnvalue as { output_dir?: unknown } | null | undefined)?.output_dir;
  const { output_sub_dir: outputSubDir } = removedTaskOf(job);
  if (typeof outputDir !== "string" || outputSubDir === undefined) return undefined;
  return { outputDir, outputSubDir };
}

/**
 * Removes the stored results of removed tasks, except one whose output folder a task the farm still
 * has owns (the output folder index names one task per folder: a later task with the same folder,
 * or the same task imported again, points at it now).
 */
async function removeStoredResults(
  farm: FarmConnection,
  results: StoredResults,
  published: ReadonlyMap<string, PublishedResult>,
  dryRun: boolean,
): Promise<ResultsCleanReport> {
  const report: ResultsCleanReport = { removed: [], kept: [], failed: [] };
  const index = new TaskIndex(farm.redis, farm.keys);
  for (const result of published.values()) {
    if (!results.holds(result.outputDir)) continue;
    const owner = await farm.redis.hget(farm.keys.outputDirs, result.outputSubDir);
    if (owner && !published.has(owner) && (await index.queueOf(owner)) !== null) {
      report.kept.push({ output_dir: result.outputDir, task_id: owner });
      continue;
    }
    try {
      if (!dryRun) await results.remove(result.outputDir);
      report.removed.push(result.outputDir);
    } catch (error) {
      report.failed.push({
        output_dir: result.outputDir,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return report;
}

/** `wgp-farm clean`: removes old finished (or quarantined) tasks, keeping the farm's indexes consistent. */
export async function cleanTasks(farm: FarmConnection, options: CleanOptions): Promise<CleanReport> {
  const report: CleanReport = {
    state: options.state,
    older_than_ms: options.olderThanMs,
    dry_run: options.dryRun ?? false,
    removed: [],
  };
  const published = new Map<string, PublishedResult>();
  const common = {
    olderThanMs: options.olderThanMs,
    dryRun: report.dry_run,
    onRemoved: (job: Job) => {
      const result = publishedResultOf(job);
      if (result) published.set(String(job.id), result);
    },
  };
  if (options.state === "quarantined") {
    const { model } = options;
    report.removed = await removeQueueJobs(farm, QUARANTINE_QUEUE, {
      ...common,
      types: ALL_JOB_TYPES,
      ...(model ? { filter: (job: Job) => modelOfJob(job, QUARANTINE_QUEUE) === model } : {}),
    });
    if (!report.dry_run) await removeQuarantinedOriginals(farm, report.removed);
  } else {
    for (const queue of await resolveQueues(farm, { models: options.model ? [options.model] : [] })) {
      report.removed.push(...(await removeQueueJobs(farm, queue, { ...common, types: [options.state] })));
    }
  }
  if (options.results) {
    report.results = await removeStoredResults(farm, options.results, published, report.dry_run);
  }
  return report;
}
