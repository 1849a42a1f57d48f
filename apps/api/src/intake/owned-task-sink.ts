import type {
  FlowSink,
  ImportOptions,
  ImportReport,
  PendingTask,
  RetryPolicy,
  TaskSink,
} from "@wgp-farm/queue";
import type { Caller } from "../auth/caller.js";
import type { TaskOwners } from "../tasks/task-owners.js";
import { idsInFarm, refuseTakenId } from "./id-conflicts.js";
import { OwnedFlowSink } from "./owned-flow-sink.js";

/**
 * The importer's Redis sink behind an ownership check: a task id taken by another token (or imported
 * outside the API) is refused, per task, in the importer's report; the others go in as `import-tasks`
 * puts them, and are listed under the token. Flows go through the same check (`OwnedFlowSink`).
 */
export class OwnedTaskSink implements TaskSink {
  /** Indexes of the tasks refused because their id belongs to someone else. */
  readonly conflicts = new Set<number>();
  readonly flows: FlowSink | undefined;
  readonly retry: RetryPolicy | undefined;
  readonly #inner: TaskSink;
  readonly #owners: TaskOwners;
  readonly #who: Caller;
  readonly #submittedAt: number;

  constructor(inner: TaskSink, owners: TaskOwners, who: Caller, submittedAt: number) {
    this.#inner = inner;
    this.#owners = owners;
    this.#who = who;
    this.#submittedAt = submittedAt;
    this.retry = inner.retry;
    this.flows =
      inner.flows && new OwnedFlowSink(inner.flows, { owners, who, submittedAt, conflicts: this.conflicts });
  }

  async accept(batch: readonly PendingTask[], report: ImportReport, options: ImportOptions): Promise<void> {
    const claims = await this.#owners.claim(
      this.#who.token.id,
      batch.map((pending) => pending.task.task_id),
    );
    const admitted: PendingTask[] = [];
    const claimedNow = new Set<string>();
    const owned = new Set<string>();
    batch.forEach((pending, i) => {
      const claim = claims[i];
      if (claim === "claimed") claimedNow.add(pending.task.task_id);
      if (claim !== "taken") owned.add(pending.task.task_id);
      if (claim !== "taken" || this.#who.isAdmin) {
        admitted.push(pending);
        return;
      }
      this.conflicts.add(pending.index);
      refuseTakenId(report, options, pending);
    });
    if (admitted.length === 0) return;
    await this.#inner.accept(admitted, report, options);
    const inFarm = idsInFarm(report, new Set(admitted.map((pending) => pending.index)));
    // The farm refused some (an output folder taken): they are nobody's, and not listed.
    await this.#owners.release([...claimedNow].filter((id) => !inFarm.has(id)));
    const listed = admitted
      .map((pending) => pending.task.task_id)
      .filter((id) => inFarm.has(id) && owned.has(id));
    await this.#owners.record(this.#who.token.id, listed, this.#submittedAt);
  }
}
