import type { ImportReport } from "@wgp-farm/queue";
import { plural } from "./format.js";

const LIST_LIMIT = 50;

function taskLabel(index: number, taskId: string | null): string {
  return taskId === null ? `task #${index}` : `task #${index} '${taskId}'`;
}

function countBy<T>(items: readonly T[], key: (item: T) => string): string {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts.entries()].map(([name, count]) => `${name}: ${count.toLocaleString("en-US")}`).join(", ");
}

/** The import report as a person reads it: counts first, then every invalid task with its reasons. */
export function formatImportReport(
  report: ImportReport,
  context: { dryRun: boolean; source: string },
): string {
  const lines: string[] = [];
  const verb = context.dryRun ? "Valid (dry run, nothing queued)" : "Imported";
  lines.push(
    `${verb}: ${plural(report.imported.length, "task")}${report.imported.length ? ` (${countBy(report.imported, (e) => e.queue)})` : ""}`,
  );
  const notes = report.imported.filter((entry) => entry.note);
  for (const entry of notes.slice(0, LIST_LIMIT))
    lines.push(`  ${taskLabel(entry.index, entry.task_id)}: ${entry.note}`);
  lines.push(
    `Skipped, already known: ${plural(report.skipped.length, "task")}${report.skipped.length ? ` (${countBy(report.skipped, (e) => e.state)})` : ""}`,
  );
  for (const entry of report.skipped.slice(0, LIST_LIMIT)) {
    lines.push(`  ${taskLabel(entry.index, entry.task_id)} is ${entry.state} in ${entry.queue}`);
  }
  if (report.skipped.length > LIST_LIMIT)
    lines.push(`  … and ${report.skipped.length - LIST_LIMIT} more (--json lists all)`);
  if (report.skipped.length > 0) lines.push("  (use --rerun to queue finished tasks again)");
  lines.push(`Invalid: ${plural(report.invalid.length, "task")}`);
  for (const entry of report.invalid) {
    const where = entry.line > 0 ? ` (line ${entry.line})` : "";
    lines.push(`  ${taskLabel(entry.index, entry.task_id)}${where}:`);
    for (const error of entry.errors)
      lines.push(`    ${error.path ? `${error.path}: ` : ""}${error.message}`);
  }
  for (const error of report.file_errors) lines.push(`Input error (line ${error.line}): ${error.message}`);
  if (report.warnings.length > 0) {
    lines.push(`Warnings: ${plural(report.warnings.length, "task")}`);
    for (const entry of report.warnings.slice(0, LIST_LIMIT)) {
      for (const warning of entry.warnings) {
        lines.push(
          `  ${taskLabel(entry.index, entry.task_id)}: ${warning.path ? `${warning.path}: ` : ""}${warning.message}`,
        );
      }
    }
    if (report.warnings.length > LIST_LIMIT)
      lines.push(`  … and ${report.warnings.length - LIST_LIMIT} more (--json lists all)`);
  }
  return lines.join("\n");
}
