import { createHash, randomUUID } from "node:crypto";
import {
  type FarmConnection,
  type ImportReport,
  RedisTaskSink,
  type RetryPolicy,
  readFarmWangpKnowledge,
  TaskImporter,
  type WarningEntry,
} from "@wgp-farm/queue";
import type { TaskIssue, TaskRecord } from "@wgp-farm/tasks";
import type { Caller } from "../auth/caller.js";
import type { SubmitLimits } from "../auth/submit-limits.js";
import { ApiError } from "../errors.js";
import { taskLinks } from "../tasks/task-links.js";
import type { TaskOwners } from "../tasks/task-owners.js";
import { canonicalHash } from "./canonical-hash.js";
import { HttpTaskValidator } from "./http-task-validator.js";
import type { IdempotencyStore, StoredResponse, StoredTaskOutcome } from "./idempotency-store.js";
import type { MediaReferences } from "./media-references.js";
import { OwnedTaskSink } from "./owned-task-sink.js";
import { tasksOfBody } from "./submit-envelope.js";

/** A task the farm has (new, or submitted before by the same token). */
export interface SubmittedTask {
  index: number;
  task_id: string;
  state: string;
  queue: string;
  /** In a flow: the job that runs last (its last step, stitch or dependant); GET it to see the whole tree. */
  flow?: string;
  links: ReturnType<typeof taskLinks>;
}

/** A task that was not queued, with every problem per field (the importer's words). */
export interface RefusedTask {
  index: number;
  task_id: string | null;
  errors: TaskIssue[];
}

/** The answer to a submit: the import report's shape, for HTTP. */
export interface SubmitReport {
  tasks: SubmittedTask[];
  invalid: RefusedTask[];
  warnings: WarningEntry[];
}

export interface TaskSubmissionParts {
  farm: FarmConnection;
  owners: TaskOwners;
  limits: SubmitLimits;
  idempotency: IdempotencyStore;
  media: MediaReferences;
  inputsDir: string;
  retry: RetryPolicy;
  maxBatch: number;
  /** Whether a task's own webhook may target loopback, link-local or private addresses. */
  allowPrivateTargets: boolean;
}

interface Candidate {
  index: number;
  raw: unknown;
  taskId: string | null;
  bodySha: string;
}

function taskIdOf(raw: unknown): string | null {
  const id = (raw as { task_id?: unknown } | null)?.task_id;
  return typeof id === "string" ? id : null;
}

/**
 * A task without a task_id gets one: derived from the Idempotency-Key when there is one (so a retry
 * after a lost answer names the same task), else random.
 */
function withTaskId(
  raw: unknown,
  index: number,
  tokenId: string,
  idempotencyKey: string | undefined,
): unknown {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw) || "task_id" in raw) return raw;
  const id =
    idempotencyKey === undefined
      ? randomUUID()
      : createHash("sha256").update(`${tokenId}\0${idempotencyKey}\0${index}`).digest("hex").slice(0, 32);
  return { task_id: `api-${id}`, ...raw };
}

/**
 * Whole-request outcome: 201 every task is in the farm; 207 some are and some were refused (the valid
 * neighbours of a bad task still queue, as with import-tasks); 409 none is and every refusal is an id
 * conflict; 422 none is.
 */
function responseOf(report: SubmitReport, conflicts: number): StoredResponse {
  if (report.invalid.length === 0) return { status: 201, body: report };
  if (report.tasks.length > 0) return { status: 207, body: report };
  const allConflicts = conflicts === report.invalid.length;
  const error = new ApiError(
    allConflicts ? 409 : 422,
    allConflicts ? "task_id_conflict" : "invalid_tasks",
    allConflicts
      ? "no task was queued: every task_id is already used (see details.invalid); choose new task_ids or resend the original bodies"
      : `no task was queued: ${report.invalid.length === 1 ? "the task is" : `all ${report.invalid.length} tasks are`} invalid; fix the fields named in details.invalid`,
    report,
  );
  return { status: error.status, body: error.toBody() };
}

/**
 * POST /v1/tasks, door-independent: the importer's validation and sink (as `import-tasks`), an
 * ownership check per task id, the token's in-flight cap, and stored idempotency (per request with
 * an Idempotency-Key, per task by task_id).
 */
export class TaskSubmission {
  readonly #parts: TaskSubmissionParts;

  constructor(parts: TaskSubmissionParts) {
    this.#parts = parts;
  }

  async submit(
    who: Caller,
    body: unknown,
    idempotencyKey: string | undefined,
  ): Promise<StoredResponse & { replayed: boolean }> {
    const { idempotency } = this.#parts;
    const raws = tasksOfBody(body, this.#parts.maxBatch);
    const tokenId = who.token.id;
    if (idempotencyKey !== undefined) {
      const claim = await idempotency.claimRequest(tokenId, idempotencyKey, body);
      if (claim.kind === "answered") return { ...claim.response, replayed: true };
      if (claim.kind === "other-body") {
        throw new ApiError(
          409,
          "idempotency_key_reused",
          "this Idempotency-Key was used with a different body; use a new key for a new request, or resend the original body",
        );
      }
    }
    const response = await this.#submitTasks(who, raws, idempotencyKey);
    if (idempotencyKey !== undefined)
      await idempotency.storeResponse(tokenId, idempotencyKey, body, response);
    return { ...response, replayed: false };
  }

  async #submitTasks(
    who: Caller,
    raws: unknown[],
    idempotencyKey: string | undefined,
  ): Promise<StoredResponse> {
    const { idempotency } = this.#parts;
    const tokenId = who.token.id;
    const candidates: Candidate[] = raws.map((raw, index) => {
      const task = withTaskId(raw, index, tokenId, idempotencyKey);
      return { index, raw: task, taskId: taskIdOf(task), bodySha: canonicalHash(task) };
    });
    const report: SubmitReport = { tasks: [], invalid: [], warnings: [] };
    const replayed = await this.#answerFromStore(tokenId, candidates, report);
    let conflicts = replayed.conflicts;
    const { fresh } = replayed;
    if (fresh.length > 0) conflicts += await this.#importFresh(who, fresh, report);
    for (const list of [report.tasks, report.invalid, report.warnings])
      list.sort((a, b) => a.index - b.index);
    const shaOf = new Map(fresh.map((candidate) => [candidate.index, candidate.bodySha]));
    await idempotency.storeTaskOutcomes(
      tokenId,
      report.tasks
        .filter((entry) => shaOf.has(entry.index))
        .map((entry) => ({
          task_id: entry.task_id,
          body_sha256: shaOf.get(entry.index) as string,
          entry: { ...entry },
        })),
    );
    return responseOf(report, conflicts);
  }

  /**
   * Answers the tasks submitted before by their stored outcome (same body), or refuses them (another
   * body under the same task_id). Returns the rest, and how many were refused.
   */
  async #answerFromStore(
    tokenId: string,
    candidates: readonly Candidate[],
    report: SubmitReport,
  ): Promise<{ fresh: Candidate[]; conflicts: number }> {
    const withIds = candidates.filter((candidate) => candidate.taskId !== null);
    const stored = await this.#parts.idempotency.taskOutcomes(
      tokenId,
      withIds.map((candidate) => candidate.taskId as string),
    );
    const storedById = new Map<string, StoredTaskOutcome>();
    withIds.forEach((candidate, i) => {
      const outcome = stored[i];
      if (outcome) storedById.set(candidate.taskId as string, outcome);
    });
    let conflicts = 0;
    const fresh: Candidate[] = [];
    for (const candidate of candidates) {
      const outcome = candidate.taskId === null ? undefined : storedById.get(candidate.taskId);
      if (!outcome) fresh.push(candidate);
      else if (outcome.body_sha256 === candidate.bodySha) {
        report.tasks.push({ ...(outcome.entry as unknown as SubmittedTask), index: candidate.index });
      } else {
        conflicts++;
        report.invalid.push({
          index: candidate.index,
          task_id: candidate.taskId,
          errors: [
            {
              path: "task_id",
              message: `task_id '${candidate.taskId}' was submitted before with a different body; choose a new task_id, or resend the original task`,
            },
          ],
        });
      }
    }
    return { fresh, conflicts };
  }

  /** Validates and imports the tasks not answered from a stored outcome. Returns the id conflicts. */
  async #importFresh(who: Caller, fresh: readonly Candidate[], report: SubmitReport): Promise<number> {
    const { farm, owners, limits } = this.#parts;
    const tokenId = who.token.id;
    const ids = [
      ...new Set(fresh.map((candidate) => candidate.taskId).filter((id): id is string => id !== null)),
    ];
    await limits.reserve(tokenId, ids);
    const farmSink = new RedisTaskSink(farm, this.#parts.retry);
    const sink = new OwnedTaskSink(farmSink, owners, who, Date.now());
    let imported: ImportReport;
    try {
      imported = await new TaskImporter(sink).import(
        recordsOf(fresh),
        new HttpTaskValidator(
          this.#parts.media,
          this.#parts.inputsDir,
          this.#parts.allowPrivateTargets,
          await readFarmWangpKnowledge(farm),
        ),
        { source: `api (token ${tokenId})` },
      );
    } catch (error) {
      await limits.release(tokenId, ids);
      throw error;
    } finally {
      await farmSink.flows.close();
    }
    for (const entry of imported.imported) {
      report.tasks.push({
        index: entry.index,
        task_id: entry.task_id,
        state: "waiting",
        queue: entry.queue,
        ...(entry.flow ? { flow: entry.flow } : {}),
        links: taskLinks(entry.task_id),
      });
    }
    for (const entry of imported.skipped) {
      report.tasks.push({
        index: entry.index,
        task_id: entry.task_id,
        state: entry.state,
        queue: entry.queue,
        links: taskLinks(entry.task_id),
      });
    }
    for (const { index, task_id, errors } of imported.invalid)
      report.invalid.push({ index, task_id, errors });
    report.warnings.push(...imported.warnings);
    const accepted = new Set([...imported.imported, ...imported.skipped].map((entry) => entry.task_id));
    await limits.release(
      tokenId,
      ids.filter((id) => !accepted.has(id)),
    );
    return sink.conflicts.size;
  }
}

async function* recordsOf(candidates: readonly Candidate[]): AsyncIterable<TaskRecord> {
  for (const { index, raw } of candidates) yield { kind: "task", index, line: 0, value: raw };
}
