import {
  isStitchTask,
  type StitchTask,
  type Task,
  type TaskRecord,
  type TaskValidator,
} from "@wgp-farm/tasks";
import { modelQueueName } from "../records/farm-keys.js";
import { DEFAULT_RETRY_POLICY, type RetryPolicy, type TaskImportInfo } from "../records/task-job.js";
import {
  dependenciesOf,
  type FarmTaskFact,
  type FlowPlan,
  hasFlowFields,
  planFlows,
  queueOfTask,
} from "./flow-plan.js";
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

/** A valid task that takes part in a flow (a stitch, a task with dependencies or post-steps, or one they name). */
export interface PendingFlowTask extends Omit<PendingTask, "task"> {
  task: Task | StitchTask;
}

/** Where flows go: the farm (`RedisFlowSink`) or nowhere (--dry-run). */
export interface FlowSink {
  /** What the farm knows of task ids a flow names that its file does not hold (unknown ids are left out). */
  farmFacts(ids: readonly string[]): Promise<Map<string, FarmTaskFact>>;
  acceptFlows(plan: FlowPlan, report: ImportReport, options: ImportOptions): Promise<void>;
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
  /** Absent: this door takes single tasks only, and refuses flows. */
  readonly flows?: FlowSink;
  /** The retry policy of the jobs the sink adds (flows build their jobs with it). */
  readonly retry?: RetryPolicy;
}

/** --dry-run: every valid task is reported as what would be imported; Redis is not touched. */
export class DryRunTaskSink implements TaskSink {
  readonly flows: FlowSink = {
    // A dry run does not read the farm: a dependency outside the file is taken as done.
    farmFacts: async (ids) =>
      new Map(ids.map((id) => [id, { state: "completed", queue: "", hasParent: false }])),
    acceptFlows: async (plan, report) => {
      for (const { root, members } of plan.flows) {
        for (const { index, task } of members) {
          report.imported.push({ index, task_id: task.task_id, queue: queueOfTask(task), flow: root.id });
        }
      }
    },
  };

  async accept(batch: readonly PendingTask[], report: ImportReport): Promise<void> {
    for (const { index, task } of batch) {
      report.imported.push({ index, task_id: task.task_id, queue: modelQueueName(task.model) });
    }
  }
}

/**
 * Reads task records, validates each one, and hands the valid ones to a sink in batches, so that
 * memory stays bounded whatever the size of the input. Every record ends up in the report.
 *
 * Flows are checked as a whole once the file is read: the tasks with flow fields are held until
 * then, with the plain tasks they name that are still in the last batch (the whole file, below the
 * batch size), so a bad flow queues none of them. A plain task of an earlier batch is in the farm by
 * then, and a flow that names it adopts its job.
 */
export class TaskImporter {
  constructor(private readonly sink: TaskSink) {}

  /** Moves the plain tasks of the unsent batch that a flow names into the flows. */
  #joinNamedTasks(batch: PendingTask[], flowMembers: PendingFlowTask[]): PendingTask[] {
    const named = new Set(flowMembers.flatMap(({ task }) => dependenciesOf(task).map(({ id }) => id)));
    const plain: PendingTask[] = [];
    for (const pending of batch) {
      if (named.has(pending.task.task_id)) flowMembers.push(pending);
      else plain.push(pending);
    }
    return plain;
  }

  async #importFlows(
    members: PendingFlowTask[],
    invalidIds: ReadonlySet<string>,
    report: ImportReport,
    options: ImportOptions,
  ): Promise<void> {
    const flows = this.sink.flows;
    if (!flows) {
      for (const pending of members) {
        const message =
          "flows (depends_on, then, stitch, from) are not taken here: import them with import-tasks";
        recordInvalid(
          report,
          options,
          {
            index: pending.index,
            task_id: pending.task.task_id,
            line: pending.line,
            errors: [{ path: "", message }],
          },
          pending.raw,
        );
      }
      return;
    }
    const inFile = new Set(members.map(({ task }) => task.task_id));
    const outside = [
      ...new Set(
        members.flatMap(({ task }) =>
          dependenciesOf(task)
            .map(({ id }) => id)
            .filter((id) => !inFile.has(id) && !invalidIds.has(id)),
        ),
      ),
    ];
    const plan = planFlows({
      members,
      invalidIds,
      farm: await flows.farmFacts(outside),
      retry: this.sink.retry ?? DEFAULT_RETRY_POLICY,
    });
    for (const { members: refused, errors } of plan.refused) {
      const [firstId, firstIssues] = [...errors][0] ?? ["", []];
      const first = firstIssues[0];
      for (const pending of refused) {
        const own = errors.get(pending.task.task_id);
        const issues = own ?? [
          {
            path: "",
            message: `not imported: its flow has errors (${firstId}${first?.path ? ` ${first.path}` : ""}: ${first?.message ?? "?"})`,
          },
        ];
        recordInvalid(
          report,
          options,
          { index: pending.index, task_id: pending.task.task_id, line: pending.line, errors: issues },
          pending.raw,
        );
      }
    }
    await flows.acceptFlows(plan, report, options);
  }

  async import(
    records: AsyncIterable<TaskRecord>,
    validator: TaskValidator,
    options: ImportOptions,
  ): Promise<ImportReport> {
    const report = emptyImportReport();
    const batchSize = options.batchSize ?? 1000;
    let batch: PendingTask[] = [];
    const flowMembers: PendingFlowTask[] = [];
    const invalidIds = new Set<string>();
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
        if (verdict.taskId !== undefined) invalidIds.add(verdict.taskId);
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
      const pending = {
        index: record.index,
        line: record.line,
        raw: record.value,
        info: {
          source: options.source,
          imported_at: new Date().toISOString(),
          seed_generated: !isStitchTask(verdict.task) && (raw.seed === undefined || raw.seed === -1),
          warnings: verdict.warnings,
        },
      };
      const { task } = verdict;
      if (hasFlowFields(task) || isStitchTask(task)) {
        flowMembers.push({ ...pending, task });
        continue;
      }
      batch.push({ ...pending, task });
      if (batch.length >= batchSize) {
        await send(batch);
        batch = [];
        options.onProgress?.({ tasksRead });
      }
    }
    if (flowMembers.length > 0) batch = this.#joinNamedTasks(batch, flowMembers);
    if (batch.length > 0) await send(batch);
    await inFlight;
    if (flowMembers.length > 0) await this.#importFlows(flowMembers, invalidIds, report, options);
    options.onProgress?.({ tasksRead });
    for (const list of [report.imported, report.skipped, report.invalid, report.warnings]) {
      list.sort((a, b) => a.index - b.index);
    }
    return report;
  }
}
