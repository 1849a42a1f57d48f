import { type FinishedJob, modelOf, type ResultSummary } from "./finished-jobs.js";

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

/** The dashboard's URL of a file of a task's result. */
export function mediaUrl(taskId: string, name: string): string {
  return `/farm/media/${encodeURIComponent(taskId)}/${name.split("/").map(encodeURIComponent).join("/")}`;
}

function previewOf(summary: ResultSummary, kind: string): string | null {
  const found = summary.previews?.find(
    (preview) => preview.kind === kind && preview.source === summary.main_file,
  );
  return found?.name ?? null;
}

export function cardOf(job: FinishedJob, serving: boolean): ResultCard {
  const { summary, task } = job;
  const url = (name: string | null | undefined) => (serving && name ? mediaUrl(job.task_id, name) : null);
  return {
    task_id: job.task_id,
    model: modelOf(job),
    state: job.state,
    prompt: task.prompt ?? "",
    resolution: task.resolution ?? null,
    finished_at: job.finished_at,
    generation_s: summary.timings?.generation_s ?? null,
    media_type: summary.media_type ?? null,
    main_url: url(summary.main_file),
    poster_url: url(previewOf(summary, "poster") ?? previewOf(summary, "thumbnail")),
    animated_url: url(previewOf(summary, "animated")),
    error: job.error,
  };
}
