import type { TaskIssue } from "@wgp-farm/tasks";

export interface ImportedEntry {
  index: number;
  task_id: string;
  queue: string;
  /** Why an already known task was queued again (`--rerun`, or a repair of an interrupted import). */
  note?: string;
  /** The root job of the flow the task went in with (its last step, stitch, or dependant). */
  flow?: string;
}

export interface SkippedEntry {
  index: number;
  task_id: string;
  queue: string;
  state: string;
}

export interface InvalidEntry {
  index: number;
  task_id: string | null;
  line: number;
  errors: TaskIssue[];
  /** The input ended inside this task: it was cut short, not written wrong. */
  truncated?: true;
}

export interface WarningEntry {
  index: number;
  task_id: string | null;
  warnings: TaskIssue[];
}

export interface FileError {
  line: number;
  message: string;
  /** The input ends early (a file still being written, or cut short). */
  truncated?: true;
}

/** What an import did with every task it read. */
export interface ImportReport {
  imported: ImportedEntry[];
  skipped: SkippedEntry[];
  invalid: InvalidEntry[];
  warnings: WarningEntry[];
  /** Problems with the input as a whole (a truncated JSON array, …). */
  file_errors: FileError[];
}

export function emptyImportReport(): ImportReport {
  return { imported: [], skipped: [], invalid: [], warnings: [], file_errors: [] };
}
