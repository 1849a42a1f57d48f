import type { Task, TaskRecord, TaskValidator } from "@wgp-farm/tasks";
import { modelQueueName } from "../records/farm-keys.js";
import type { TaskImportInfo } from "../records/task-job.js";
import { emptyImportReport, type ImportReport, type InvalidEntry } from "./import-report.js";
import type { UrlCheck } from "./url-check.js";

export interface ImportProgress {
  tasksRead: number;
}

export interface ImportOptions {
  /** Where the tasks came from (recorded with every job). */
  source: string;
  /** Queue finished (completed, failed, cancelled) tasks again instead of skipping them. */
  rerun?: boolean;
  batchSize?: number;
  onProgress?: (progress: ImportProgress) => void;
  /** Called for every invalid task with what was read (undefined when it did not parse). */
  onInvalid?: (entry: InvalidEntry, raw: unknown) => void;
  /** Asks the stores about media URLs before tasks are queued (absent: URLs are checked for form only). */
  urlCheck?: UrlCheck;
}

/** A valid task on its way into the farm. */
export interface PendingTask {
  index: number;
  line: number;
  /** The task as read, for reports of tasks refused later (by the sink). */
  raw: unknown;
  task: Task;
  info: TaskImportInfo;
}

/** Adds an invalid task to the report and tells the caller's `onInvalid`. */
export function recordInvalid(
  report: ImportReport,
  options: ImportOptions,
  entry: InvalidEntry,
  raw: unknown,
): void {
  report.invalid.push(entry);
  options.onInvalid?.(entry, raw);
}

/** Where validated tasks go: Redis (`RedisTaskSink`) or nowhere (`DryRunTaskSink`, for --dry-run). */
export interface TaskSink {
  accept(batch: readonly PendingTask[], report: ImportReport, options: ImportOptions): Promise<void>;
}

/** --dry-run: every valid task is reported as what would be imported; Redis is not touched. */
export class DryRunTaskSink implements TaskSink {
  async accept(batch: readonly PendingTask[], report: ImportReport): Promise<void> {
    for (const { index, task } of batch) {
      report.imported.push({ index, task_id: task.task_id, queue: modelQueueName(task.model) });
    }
  }
}

/**
 * Reads task records, validates each one, and hands the valid ones to a sink in batches, so that
 * memory stays bounded whatever the size of the input. Every record ends up in the report.
 */
export class TaskImporter {
  constructor(private readonly sink: TaskSink) {}

  async import(
    records: AsyncIterable<TaskRecord>,
    validator: TaskValidator,
    options: ImportOptions,
  ): Promise<ImportReport> {
    const report = emptyImportReport();
    const batchSize = options.batchSize ?? 1000;
    let batch: PendingTask[] = [];
    let tasksRead = 0;
    // One batch goes to the sink while the next one is read and validated: Redis and the parser
    // work at the same time, and at most two batches are held in memory.
    let inFlight: Promise<void> = Promise.resolve();
    const send = async (tasks: PendingTask[]) => {
      const checked = options.urlCheck ? await options.urlCheck.filter(tasks, report, options) : tasks;
      await inFlight;
      inFlight = this.sink.accept(checked, report, options);
    };
    for await (const record of records) {
      if (record.kind === "file-error") {
        const { kind: _kind, ...fileError } = record;
        report.file_errors.push(fileError);
        continue;
      }
      tasksRead++;
      if (record.kind === "unparsable") {
        const errors = [{ path: "", message: record.message }];
        recordInvalid(
          report,
          options,
          {
            index: record.index,
            task_id: null,
            line: record.line,
            errors,
            ...(record.truncated ? { truncated: true as const } : {}),
          },
          undefined,
        );
        continue;
      }
      const verdict = await validator.validate(record.value);
      if (verdict.warnings.length > 0) {
        const taskId = verdict.ok ? verdict.task.task_id : (verdict.taskId ?? null);
        report.warnings.push({ index: record.index, task_id: taskId, warnings: verdict.warnings });
      }
      if (!verdict.ok) {
        const entry = {
          index: record.index,
          task_id: verdict.taskId ?? null,
          line: record.line,
          errors: verdict.errors,
        };
        recordInvalid(report, options, entry, record.value);
        continue;
      }
      const raw = record.value as Record<string, unknown>;
      batch.push({
        index: record.index,
        line: record.line,
        raw: record.value,
        task: verdict.task,
        info: {
          source: options.source,
          imported_at: new Date().toISOString(),
          seed_generated: raw.seed === undefined || raw.seed === -1,
          warnings: verdict.warnings,
        },
      });
      if (batch.length >= batchSize) {
        await send(batch);
        batch = [];
        options.onProgress?.({ tasksRead });
      }
    }
    if (batch.length > 0) await send(batch);
    await inFlight;
    options.onProgress?.({ tasksRead });
    for (const list of [report.imported, report.skipped, report.invalid, report.warnings]) {
      list.sort((a, b) => a.index - b.index);
    }
    return report;
  }
}
