import type { TaskIssue } from "@wgp-farm/tasks";
import type { Job } from "bullmq";
import { z } from "zod";
import { type CancelledTaskRecord, readCancelledRecord } from "../records/cancelled-records.js";
import type { FarmConnection } from "../records/farm-connection.js";
import { modelOfQueue, QUARANTINE_QUEUE } from "../records/farm-keys.js";
import { type LostAttempt, LostAttempts } from "../records/lost-attempts.js";
import { QUARANTINED_REASON_PREFIX, type QuarantineInfo } from "../records/quarantine-record.js";
import { TaskIndex } from "../records/task-index.js";
import { type FlowTreeNode, readFlowTree } from "./flow-tree.js";
import { type TaskState, taskStateOfJob } from "./task-state.js";
import { type AttemptError, attemptErrors, isoTime, messageOfStack, modelOfJob } from "./task-summary.js";

/** Everything the farm knows about one task (`wgp-farm status <task_id>`). */
export interface TaskDetails {
  task_id: string;
  state: TaskState;
  /** The queue holding its job (the quarantine queue for a quarantined task), else the indexed queue. */
  queue: string | null;
  model: string | null;
  name: string | null;
  priority: number | null;
  attempts: { made: number; started: number; max: number; stalled: number };
  /** The job's progress object (phase, step/total, percent, ETA, slot) while it runs. */
  progress: unknown;
  /** The worker that last took the job (`host/gpuN`). */
  worker: string | null;
  /** The output folder relative to the main output dir (from the task). */
  output_sub_dir: string | null;
  /** The published output folder (from the result, once completed). */
  output_dir: string | null;
  errors: AttemptError[];
  /** The worker's result manifest (completed tasks). */
  result: unknown;
  created_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  /** The cancel record of a task cancelled before it finished. */
  cancelled: CancelledTaskRecord | null;
  /** Why and after what a quarantined task was set aside, with the history of its attempts. */
  quarantine: QuarantineInfo | null;
  /** The last lines of the job's log (engine output). */
  log_tail: string[];
  /** What the importer warned about (an unknown field and its likely meaning, …), kept with the job. */
  import_warnings: TaskIssue[];
  /** Attempts that lost the job to another attempt before publishing, and the GPU time they spent. */
  lost_attempts: LostAttempt[];
  /** The flow the task belongs to, from its root (what runs last) down; null outside a flow. */
  flow: FlowTreeNode | null;
}

export interface FindTaskOptions {
  /** How many of the last log lines to include (default 10). */
  logLines?: number;
}

/**
 * Whether a model-queue job is the failed original of a quarantined task (the worker fails it with a
 * `quarantined: …` reason and puts a copy, with its history, in the quarantine queue).
 */
export async function isQuarantinedOriginal(job: Job): Promise<boolean> {
  return (
    (job.failedReason ?? "").startsWith(QUARANTINED_REASON_PREFIX) && (await job.getState()) === "failed"
  );
}

/**
 * The job of a task: in the queue the index names, unless that job is the failed original of a
 * quarantined task, in which case the quarantine queue's copy (with the history) is the task.
 */
export async function findTaskJob(
  farm: FarmConnection,
  taskId: string,
  indexedQueue: string | null,
): Promise<{ job: Job; queueName: string } | null> {
  const indexed =
    indexedQueue && indexedQueue !== QUARANTINE_QUEUE
      ? await farm.queues.byName(indexedQueue).getJob(taskId)
      : undefined;
  if (indexed && indexedQueue && !(await isQuarantinedOriginal(indexed))) {
    return { job: indexed, queueName: indexedQueue };
  }
  const quarantined = await farm.queues.byName(QUARANTINE_QUEUE).getJob(taskId);
  if (quarantined) return { job: quarantined, queueName: QUARANTINE_QUEUE };
  return indexed && indexedQueue ? { job: indexed, queueName: indexedQueue } : null;
}

/** A task's output folder; a post-step's or a stitch's is in its job data itself. */
function outputSubDirOf(job: Job): string | null {
  const data = job.data as { task?: { output_sub_dir?: unknown }; output_sub_dir?: unknown } | undefined;
  const subDir = data?.task?.output_sub_dir ?? data?.output_sub_dir;
  return typeof subDir === "string" ? subDir : null;
}

function quarantineInfoOf(job: Job): QuarantineInfo | null {
  const info = (job.data as { quarantine?: QuarantineInfo } | undefined)?.quarantine;
  return info && typeof info === "object"
    ? { ...info, errors: info.errors ?? [], log_tail: info.log_tail ?? [] }
    : null;
}

function outputDirOf(result: unknown): string | null {
  const dir = (result as { output_dir?: unknown } | null | undefined)?.output_dir;
  return typeof dir === "string" ? dir : null;
}

/** Looks a task up by id. Null when the farm never saw the id. */
export async function findTask(
  farm: FarmConnection,
  taskId: string,
  options: FindTaskOptions = {},
): Promise<TaskDetails | null> {
  const indexedQueue = await new TaskIndex(farm.redis, farm.keys).queueOf(taskId);
  const [found, cancelled, lostAttempts] = await Promise.all([
    findTaskJob(farm, taskId, indexedQueue),
    readCancelledRecord(farm, taskId),
    new LostAttempts(farm.redis, farm.keys).list(taskId),
  ]);
  if (!found) {
    if (!indexedQueue && !cancelled) return null;
    const queue = indexedQueue ?? (cancelled?.queue || null);
    return {
      task_id: taskId,
      state: cancelled ? "cancelled" : "missing",
      queue,
      model: queue ? (modelOfQueue(queue) ?? null) : null,
      name: null,
      priority: null,
      attempts: { made: 0, started: 0, max: 0, stalled: 0 },
      progress: null,
      worker: null,
      output_sub_dir: null,
      output_dir: null,
      errors: [],
      result: null,
      created_at: null,
      started_at: null,
      finished_at: null,
      cancelled,
      quarantine: null,
      log_tail: [],
      import_warnings: [],
      lost_attempts: lostAttempts,
      flow: null,
    };
  }
  const { job, queueName } = found;
  const queue = farm.queues.byName(queueName);
  const logLines = options.logLines ?? 10;
  const [jobState, logs, flow] = await Promise.all([
    job.getState(),
    logLines > 0 ? queue.getJobLogs(taskId, -logLines, -1, true) : { logs: [] },
    queueName === QUARANTINE_QUEUE ? null : readFlowTree(farm, job, queueName),
  ]);
  const result = job.returnvalue ?? null;
  const quarantine = queueName === QUARANTINE_QUEUE ? quarantineInfoOf(job) : null;
  return {
    task_id: taskId,
    state: queueName === QUARANTINE_QUEUE ? "quarantined" : taskStateOfJob(jobState),
    queue: queueName,
    model: modelOfJob(job, queueName),
    name: job.name ?? null,
    priority: job.priority || null,
    attempts: {
      made: job.attemptsMade ?? 0,
      started: job.attemptsStarted ?? 0,
      max: job.opts.attempts ?? 1,
      stalled: job.stalledCounter ?? 0,
    },
    progress: job.progress ?? null,
    worker: job.processedBy ?? null,
    output_sub_dir: outputSubDirOf(job),
    output_dir: outputDirOf(result),
    errors: quarantine
      ? quarantine.errors.map((stack, i) => ({ attempt: i + 1, message: messageOfStack(stack) }))
      : attemptErrors(job),
    result,
    created_at: isoTime(job.timestamp),
    started_at: isoTime(job.processedOn),
    finished_at: isoTime(job.finishedOn),
    cancelled,
    quarantine,
    log_tail: quarantine && logs.logs.length === 0 ? quarantine.log_tail.slice(-logLines) : logs.logs,
    import_warnings: importWarningsOf(job),
    lost_attempts: lostAttempts,
    flow,
  };
}

const ImportWarnings = z.array(z.object({ path: z.string(), message: z.string() }));

/** The import warnings kept in the job; none from a job written in another shape. */
function importWarningsOf(job: Job): TaskIssue[] {
  const parsed = ImportWarnings.safeParse(
    (job.data as { import?: { warnings?: unknown } } | undefined)?.import?.warnings,
  );
  return parsed.success ? parsed.data : [];
}
