import type {
  FarmTaskFact,
  FlowPlan,
  FlowSink,
  ImportOptions,
  ImportReport,
  PlannedFlow,
  StepJobData,
} from "@wgp-farm/queue";
import type { Caller } from "../auth/caller.js";
import type { TaskOwners } from "../tasks/task-owners.js";
import { idsInFarm, refuseTakenId, refuseTask } from "./id-conflicts.js";

export interface OwnedFlowParts {
  owners: TaskOwners;
  who: Caller;
  submittedAt: number;
  /** Indexes of the tasks refused because an id of their flow belongs to someone else (shared with the task sink). */
  conflicts: Set<number>;
}

/**
 * The importer's flow sink behind the API's ownership rules. A flow may name only farm tasks its
 * token may read (another token's task is as unknown to it as one that does not exist, so nobody
 * builds on, or learns of, another client's output). Its tasks' ids are claimed for the token; a flow
 * with an id that belongs to someone else is refused whole. Once a flow is in, its tasks are listed
 * under the token, and its post-steps (`<task>--then-<n>-<kind>`) are the token's too, so that reads,
 * cancel and retry work on every job of the flow.
 */
export class OwnedFlowSink implements FlowSink {
  readonly #inner: FlowSink;
  readonly #parts: OwnedFlowParts;

  constructor(inner: FlowSink, parts: OwnedFlowParts) {
    this.#inner = inner;
    this.#parts = parts;
  }

  async farmFacts(ids: readonly string[]): Promise<Map<string, FarmTaskFact>> {
    const facts = await this.#inner.farmFacts(ids);
    const { who, owners } = this.#parts;
    if (who.isAdmin || facts.size === 0) return facts;
    const ownerOf = await owners.ownersOf([...facts.keys()]);
    return new Map([...facts].filter(([id]) => ownerOf.get(id) === who.token.id));
  }

  async acceptFlows(plan: FlowPlan, report: ImportReport, options: ImportOptions): Promise<void> {
    const { owners, who } = this.#parts;
    const tokenId = who.token.id;
    const admitted: PlannedFlow[] = [];
    const claimedNow: string[] = [];
    const owned = new Set<string>();
    for (const flow of plan.flows) {
      const ids = flow.members.map(({ task }) => task.task_id);
      const claims = await owners.claim(tokenId, ids);
      ids.forEach((id, i) => {
        if (claims[i] === "claimed") claimedNow.push(id);
        if (claims[i] !== "taken") owned.add(id);
      });
      const taken = ids.filter((_, i) => claims[i] === "taken");
      if (taken.length === 0 || who.isAdmin) admitted.push(flow);
      else this.#refuse(flow, taken, report, options);
    }
    if (admitted.length > 0) await this.#inner.acceptFlows({ ...plan, flows: admitted }, report, options);
    const inFarm = idsInFarm(
      report,
      new Set(admitted.flatMap(({ members }) => members.map(({ index }) => index))),
    );
    // A flow the farm refused (an output folder taken), or one refused here: its ids stay free.
    await owners.release(claimedNow.filter((id) => !inFarm.has(id)));
    for (const flow of admitted) {
      const mine = flow.members
        .map(({ task }) => task.task_id)
        .filter((id) => inFarm.has(id) && owned.has(id));
      if (mine.length === 0) continue;
      await owners.grant(tokenId, stepIdsOf(flow, new Set(mine)));
      await owners.record(tokenId, mine, this.#parts.submittedAt);
    }
  }

  #refuse(flow: PlannedFlow, taken: readonly string[], report: ImportReport, options: ImportOptions): void {
    for (const pending of flow.members) {
      this.#parts.conflicts.add(pending.index);
      if (taken.includes(pending.task.task_id)) refuseTakenId(report, options, pending);
      else
        refuseTask(report, options, pending, {
          path: "",
          message: `not imported: its flow has a task_id already used by another client of the farm (${taken.join(", ")})`,
        });
    }
  }
}

/** The post-step jobs of a flow whose task is one of `roots`. */
function stepIdsOf(flow: PlannedFlow, roots: ReadonlySet<string>): string[] {
  return flow.nodes.flatMap(({ id, data }) => {
    const step = data as Partial<StepJobData> | null;
    return step?.kind === "step" && step.root_task_id && roots.has(step.root_task_id) ? [id] : [];
  });
}
