import type { TaskSummary } from "@wgp-farm/queue";
import { formatTable } from "./format.js";

/** `wgp-farm ls`: one task a line, most recent first. */
export function formatTaskList(tasks: readonly TaskSummary[]): string {
  if (tasks.length === 0) return "No tasks match.";
  return formatTable(
    ["TASK", "STATE", "MODEL", "ATTEMPTS", "FINISHED", "PROMPT / ERROR"],
    tasks.map((task) => [
      task.task_id,
      task.percent !== null ? `${task.state} ${Math.round(task.percent)}%` : task.state,
      task.model ?? "-",
      String(task.attempts_made),
      task.finished_at ?? "",
      (task.failed_reason ?? task.name ?? "").replace(/\s+/g, " ").slice(0, 70),
    ]),
  );
}
