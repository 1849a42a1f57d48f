import { formatDuration, percentOf, type TaskDetails } from "@wgp-farm/queue";

function progressText(progress: unknown): string | null {
  if (progress === null || progress === undefined) return null;
  if (typeof progress !== "object") return String(progress);
  const { phase, step, total, eta_s: etaS, slot } = progress as Record<string, unknown>;
  const percent = percentOf(progress);
  return [
    typeof phase === "string" ? phase : null,
    typeof step === "number" && typeof total === "number" ? `step ${step}/${total}` : null,
    percent !== null ? `${Math.round(percent)}%` : null,
    typeof etaS === "number" ? `ETA ${formatDuration(etaS)}` : null,
    typeof slot === "string" ? `on ${slot}` : null,
  ]
    .filter(Boolean)
    .join(", ");
}

/** "2 lost to another attempt (attempt 1 on gpu0@a, …), 41.2 s of GPU time wasted". */
function lostAttemptsText({ lost_attempts: lost }: TaskDetails): string | null {
  if (lost.length === 0) return null;
  const which = lost.map((attempt) => `attempt ${attempt.attempt} on ${attempt.slot}`).join(", ");
  const wastedS = lost.reduce((sum, attempt) => sum + attempt.gpu_ms, 0) / 1000;
  return `${lost.length} lost to another attempt (${which}), ${formatDuration(wastedS)} of GPU time wasted`;
}

/** `wgp-farm status <task_id>`: one task, field by field, then its errors and the end of its log. */
export function formatTaskDetails(task: TaskDetails): string {
  const { attempts } = task;
  const fields: [string, string | null][] = [
    ["Task", task.task_id],
    ["State", task.state],
    ["Queue", task.queue],
    ["Prompt", task.name],
    ["Priority", task.priority === null ? null : String(task.priority)],
    [
      "Attempts",
      attempts.max > 0
        ? `${attempts.made} failed of ${attempts.max} allowed (${attempts.started} started${attempts.stalled ? `, ${attempts.stalled} stalled` : ""})`
        : null,
    ],
    ["Progress", progressText(task.progress)],
    ["Worker", task.worker],
    ["Output", task.output_dir ?? task.output_sub_dir],
    ["Created", task.created_at],
    ["Started", task.started_at],
    ["Finished", task.finished_at],
    [
      "Cancelled",
      task.cancelled
        ? `${task.cancelled.cancelled_at}${task.cancelled.reason ? ` (${task.cancelled.reason})` : ""}`
        : null,
    ],
    ["Quarantined", task.quarantine ? `${task.quarantine.quarantined_at}: ${task.quarantine.reason}` : null],
    ["Lost", lostAttemptsText(task)],
  ];
  const width = Math.max(...fields.map(([label]) => label.length)) + 1;
  const lines = fields
    .filter((field): field is [string, string] => field[1] !== null && field[1] !== "")
    .map(([label, value]) => `${`${label}:`.padEnd(width)} ${value}`);
  if (task.import_warnings.length > 0) {
    lines.push(
      "",
      "Import warnings:",
      ...task.import_warnings.map((w) => `  ${w.path ? `${w.path}: ` : ""}${w.message}`),
    );
  }
  if (task.errors.length > 0) {
    lines.push("", "Errors:", ...task.errors.map((error) => `  attempt ${error.attempt}: ${error.message}`));
  }
  if (task.log_tail.length > 0)
    lines.push("", "Log (last lines):", ...task.log_tail.map((line) => `  ${line}`));
  return lines.join("\n");
}
