import { type ImportOptions, type ImportReport, type PendingTask, recordInvalid } from "@wgp-farm/queue";
import type { TaskIssue } from "@wgp-farm/tasks";

/** What a refusal needs of a task: where it was and what was read. */
export type RefusableTask = Pick<PendingTask, "index" | "line" | "raw"> & { task: { task_id: string } };

/** Refuses a task in the report with one problem. */
export function refuseTask(
  report: ImportReport,
  options: ImportOptions,
  pending: RefusableTask,
  issue: TaskIssue,
): void {
  recordInvalid(
    report,
    options,
    { index: pending.index, task_id: pending.task.task_id, line: pending.line, errors: [issue] },
    pending.raw,
  );
}

/** Refuses a task whose id another token holds (or a task imported outside the API). */
export function refuseTakenId(report: ImportReport, options: ImportOptions, pending: RefusableTask): void {
  refuseTask(report, options, pending, {
    path: "task_id",
    message: `task_id '${pending.task.task_id}' is already used by another client of the farm; choose another task_id`,
  });
}

/** The task ids of these indexes that the farm has now (queued by this import, or known before). */
export function idsInFarm(report: ImportReport, indexes: ReadonlySet<number>): Set<string> {
  return new Set(
    [...report.imported, ...report.skipped]
      .filter((entry) => indexes.has(entry.index))
      .map((entry) => entry.task_id),
  );
}
