import { readRecord } from "@wgp-farm/config";
import { type FarmConnection, modelOfQueue, modelQueueName } from "@wgp-farm/queue";
import type { Job } from "bullmq";
import { z } from "zod";

const text = z.string().optional().catch(undefined);
const listed = z.object({ name: text, kind: text, source: text });

/** The task fields of a job's data the grid shows (and where its files are). */
const TaskFieldsSchema = z.object({
  model: text,
  prompt: text,
  resolution: text,
  output_sub_dir: text,
});
const JobDataSchema = z.object({ task: TaskFieldsSchema.optional().catch(undefined) });
export type TaskFields = z.output<typeof TaskFieldsSchema>;

/** The part of a completed job's result (the worker's manifest summary) the grid and its media need. */
const SummarySchema = z.object({
  main_file: text,
  media_type: text,
  files: z.array(listed).optional().catch(undefined),
  previews: z.array(listed).optional().catch(undefined),
  timings: z
    .object({ generation_s: z.number().optional().catch(undefined) })
    .optional()
    .catch(undefined),
});
export type ResultSummary = z.output<typeof SummarySchema>;

/** A finished task's job, as far as the results grid reads it. */
export interface FinishedJob {
  task_id: string;
  queueName: string;
  state: "completed" | "failed";
  task: TaskFields;
  /** The result summary of a completed job (empty for a failed one). */
  summary: ResultSummary;
  finished_at: number;
  error: string | null;
}

export interface ResultFilter {
  model?: string | undefined;
  state?: "completed" | "failed" | undefined;
  /** Finished at or after (ms). */
  since?: number | undefined;
  limit: number;
}

const FIELDS = ["data", "returnvalue", "failedReason"] as const;

function finishedJobOf(
  entry: { id: string; queueName: string; state: "completed" | "failed"; finishedOn: number },
  [data, returnvalue, failedReason]: (string | null)[],
): FinishedJob | null {
  // Removed between the two reads.
  if (data === null || data === undefined) return null;
  const summary =
    entry.state === "completed" && returnvalue && returnvalue !== "null"
      ? readRecord(SummarySchema, returnvalue, "result summary (results grid)")
      : undefined;
  return {
    task_id: entry.id,
    queueName: entry.queueName,
    state: entry.state,
    task: readRecord(JobDataSchema, data, "task job data (results grid)")?.task ?? {},
    summary: summary ?? {},
    finished_at: entry.finishedOn,
    error: entry.state === "failed" ? failedReason || null : null,
  };
}

/** A job BullMQ has read, seen the same way (one task's result page). */
export function finishedJobOfJob(job: Job, queueName: string, state: "completed" | "failed"): FinishedJob {
  const data = JobDataSchema.safeParse(job.data ?? {});
  const summary = state === "completed" ? SummarySchema.safeParse(job.returnvalue ?? {}) : undefined;
  return {
    task_id: String(job.id),
    queueName,
    state,
    task: (data.success ? data.data.task : undefined) ?? {},
    summary: (summary?.success ? summary.data : undefined) ?? {},
    finished_at: job.finishedOn ?? job.timestamp,
    error: state === "failed" ? job.failedReason || null : null,
  };
}

/**
 * The most recently finished tasks of the model queues, newest first, in two round trips whatever
 * the number of queues: the ids of each queue's newest `limit` completed and failed jobs with their
 * finish times (BullMQ scores those sets by it), then the hashes of only the `limit` that make the cut.
 */
export async function readFinishedJobs(farm: FarmConnection, filter: ResultFilter): Promise<FinishedJob[]> {
  const models = filter.model ? [filter.model] : await farm.queues.knownModels();
  const states = filter.state ? [filter.state] : (["completed", "failed"] as const);
  const lists = models.flatMap((model) =>
    states.map((state) => ({ queueName: modelQueueName(model), state })),
  );
  const ranges = farm.redis.pipeline();
  for (const { queueName, state } of lists) {
    const key = farm.queues.byName(queueName).keys[state] as string;
    ranges.zrevrangebyscore(key, "+inf", filter.since ?? "-inf", "WITHSCORES", "LIMIT", 0, filter.limit);
  }
  const replies = (await ranges.exec()) ?? [];
  const newest = lists
    .flatMap((list, i) => {
      const flat = (replies[i]?.[1] ?? []) as string[];
      return Array.from({ length: flat.length / 2 }, (_, k) => ({
        ...list,
        id: flat[2 * k] as string,
        finishedOn: Number(flat[2 * k + 1]),
      }));
    })
    .sort((a, b) => b.finishedOn - a.finishedOn)
    .slice(0, filter.limit);
  const hashes = farm.redis.pipeline();
  for (const entry of newest) hashes.hmget(farm.queues.byName(entry.queueName).toKey(entry.id), ...FIELDS);
  const fields = (await hashes.exec()) ?? [];
  return newest.flatMap(
    (entry, i) => finishedJobOf(entry, (fields[i]?.[1] ?? []) as (string | null)[]) ?? [],
  );
}

/** The model a finished job ran (its task's, else its queue's). */
export function modelOf(job: FinishedJob): string {
  return job.task.model ?? modelOfQueue(job.queueName) ?? "?";
}
