import type { FarmConnection, TaskDetails } from "@wgp-farm/queue";
import { queuePosition } from "./queue-position.js";
import { fileLink, taskLinks } from "./task-links.js";

interface ProgressObject {
  phase?: unknown;
  step?: unknown;
  total?: unknown;
  percent?: unknown;
  eta_s?: unknown;
}

interface ManifestFile {
  name?: unknown;
  size?: unknown;
  sha256?: unknown;
}

function numberOrNull(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function progressOf(progress: unknown) {
  if (typeof progress === "number")
    return { phase: null, step: null, total: null, percent: progress, eta_s: null };
  if (!progress || typeof progress !== "object") return null;
  const p = progress as ProgressObject;
  return {
    phase: typeof p.phase === "string" ? p.phase : null,
    step: numberOrNull(p.step),
    total: numberOrNull(p.total),
    percent: numberOrNull(p.percent),
    eta_s: numberOrNull(p.eta_s),
  };
}

function filesOf(taskId: string, result: unknown) {
  const files = (result as { files?: unknown } | null)?.files;
  if (!Array.isArray(files)) return [];
  return files
    .filter(
      (file): file is ManifestFile & { name: string } => typeof (file as ManifestFile)?.name === "string",
    )
    .map((file) => ({
      name: file.name,
      size: numberOrNull(file.size),
      sha256: typeof file.sha256 === "string" ? file.sha256 : null,
      url: fileLink(taskId, file.name),
    }));
}

/** One task as GET /v1/tasks/{id} shows it: the lookup of `wgp-farm status`, with links for HTTP. */
export async function taskView(farm: FarmConnection, details: TaskDetails) {
  const position =
    details.state === "waiting" || details.state === "prioritized"
      ? details.queue && (await queuePosition(farm, details.queue, details.task_id))
      : null;
  return {
    task_id: details.task_id,
    state: details.state === "prioritized" ? "waiting" : details.state,
    model: details.model,
    queue: details.queue,
    queue_position: position ?? null,
    priority: details.priority,
    attempts: details.attempts,
    progress: details.state === "active" ? progressOf(details.progress) : null,
    worker: details.worker,
    output_sub_dir: details.output_sub_dir,
    errors: details.errors,
    created_at: details.created_at,
    started_at: details.started_at,
    finished_at: details.finished_at,
    cancelled: details.cancelled
      ? { at: details.cancelled.cancelled_at, reason: details.cancelled.reason }
      : null,
    quarantine: details.quarantine
      ? { reason: details.quarantine.reason, at: details.quarantine.quarantined_at }
      : null,
    result: details.result,
    files: filesOf(details.task_id, details.result),
    /** Its flow from the job that runs last down, each job with its state (as `wgp-farm status`); null outside a flow. */
    flow: details.flow,
    links: taskLinks(details.task_id),
  };
}
