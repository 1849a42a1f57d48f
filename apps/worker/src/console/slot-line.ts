import { formatDuration, type SlotStatus } from "@wgp-farm/queue";

const BAR_WIDTH = 20;
const TASK_ID_WIDTH = 24;

/** `[#######-------------]` for 35 %. */
export function progressBar(percent: number, width = BAR_WIDTH): string {
  const filled = Math.round((Math.min(100, Math.max(0, percent)) / 100) * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
}

function shortened(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/** What a slot without a job is doing. */
function restText(status: SlotStatus): string {
  if (status.state === "stopped" && status.last_error) return `stopped: ${status.last_error.message}`;
  return `${status.jobs_done} done, ${status.jobs_failed} failed`;
}

/**
 * One slot as a line of the live block: slot, state, loaded model; with a job, its task, phase and
 * steps, percent, ETA and a progress bar (last: on a narrow terminal the line is cut from the end).
 */
export function slotLine(status: SlotStatus, now = Date.now()): string {
  const head = [status.slot_id.padEnd(14), status.state.padEnd(10), (status.loaded_model ?? "-").padEnd(10)];
  const current = status.current;
  if (!current) return [...head, restText(status)].join(" ");
  const task = shortened(current.task_id, TASK_ID_WIDTH);
  const progress = current.progress;
  if (!progress) {
    const waited = formatDuration((now - Date.parse(current.started_at)) / 1000);
    return [...head, task, `starting (${waited})`].join(" ");
  }
  const percent = progress.percent ?? 0;
  const steps = progress.step !== null && progress.total !== null ? `${progress.step}/${progress.total}` : "";
  const window =
    progress.window && progress.windows && progress.windows > 1
      ? `window ${progress.window}/${progress.windows}`
      : "";
  const eta = progress.eta_s !== null ? `ETA ${formatDuration(progress.eta_s)}` : "";
  const parts = [task, progress.phase, steps, window, `${Math.round(percent)}%`, eta, progressBar(percent)];
  return [...head, ...parts.filter((part) => part !== "")].join(" ");
}
