import { type FarmConnection, modelOfQueue, modelQueueName } from "@wgp-farm/queue";
import type { Job } from "bullmq";

/** A result as the grid shows it (a completed or failed task), with the URLs of its media. */
export interface ResultCard {
  task_id: string;
  model: string;
  state: "completed" | "failed";
  prompt: string;
  resolution: string | null;
  finished_at: number;
  /** Seconds of generation (completed tasks). */
  generation_s: number | null;
  media_type: string | null;
  /** The result itself, served by the dashboard (null: failed, or no output folder to serve from). */
  main_url: string | null;
  poster_url: string | null;
  animated_url: string | null;
  error: string | null;
}

export interface ResultFilter {
  model?: string | undefined;
  state?: "completed" | "failed" | undefined;
  /** Finished at or after (ms). */
  since?: number | undefined;
  limit: number;
}

interface SummaryShape {
  main_file?: unknown;
  media_type?: unknown;
  previews?: { kind?: unknown; name?: unknown; source?: unknown }[];
  timings?: { generation_s?: unknown };
}

/** The dashboard's URL of a file of a task's result. */
export function mediaUrl(taskId: string, name: string): string {
  return `/farm/media/${encodeURIComponent(taskId)}/${name.split("/").map(encodeURIComponent).join("/")}`;
}

function previewOf(summary: SummaryShape, kind: string): string | null {
  const found = summary.previews?.find(
    (preview) => preview.kind === kind && preview.source === summary.main_file,
  );
  return typeof found?.name === "string" ? found.name : null;
}

export function cardOf(
  job: Job,
  queueName: string,
  state: "completed" | "failed",
  serving: boolean,
): ResultCard {
  const task = (job.data?.task ?? {}) as { model?: string; prompt?: string; resolution?: string };
  const summary = (state === "completed" ? (job.returnvalue ?? {}) : {}) as SummaryShape;
  const main = typeof summary.main_file === "string" ? summary.main_file : null;
  const url = (name: string | null) => (serving && name ? mediaUrl(String(job.id), name) : null);
  const thumb = previewOf(summary, "poster") ?? previewOf(summary, "thumbnail");
  const generation = summary.timings?.generation_s;
  return {
    task_id: String(job.id),
    model: task.model ?? modelOfQueue(queueName) ?? "?",
    state,
    prompt: task.prompt ?? "",
    resolution: task.resolution ?? null,
    finished_at: job.finishedOn ?? job.timestamp,
    generation_s: typeof generation === "number" ? generation : null,
    media_type: typeof summary.media_type === "string" ? summary.media_type : null,
    main_url: url(main),
    poster_url: url(thumb),
    animated_url: url(previewOf(summary, "animated")),
    error: state === "failed" ? job.failedReason || null : null,
  };
}

/**
 * The most recently finished tasks of the model queues, newest first: each queue's newest `limit`
 * of each state is read (BullMQ keeps them ordered by finish time), then merged.
 */
export async function readResultCards(
  farm: FarmConnection,
  filter: ResultFilter,
  serving: boolean,
): Promise<ResultCard[]> {
  const models = filter.model ? [filter.model] : await farm.queues.knownModels();
  const states = filter.state ? [filter.state] : (["completed", "failed"] as const);
  const lists = await Promise.all(
    models.flatMap((model) =>
      states.map(async (state) => {
        const queueName = modelQueueName(model);
        const jobs = await farm.queues.byName(queueName).getJobs([state], 0, filter.limit - 1);
        return jobs.filter(Boolean).map((job) => cardOf(job, queueName, state, serving));
      }),
    ),
  );
  return lists
    .flat()
    .filter((card) => filter.since === undefined || card.finished_at >= filter.since)
    .sort((a, b) => b.finished_at - a.finished_at)
    .slice(0, filter.limit);
}
