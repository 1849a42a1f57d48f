import { isStitchTask, type Task } from "@wgp-farm/tasks";
import { type FlowJob, FlowProducer } from "bullmq";
import { CANCELLED_REASON_PREFIX } from "../records/cancelled-records.js";
import type { FarmConnection } from "../records/farm-connection.js";
import { FarmEvents } from "../records/farm-events.js";
import { modelOfQueue, QUARANTINE_QUEUE } from "../records/farm-keys.js";
import { redisErrorListener } from "../redis/redis-connection.js";
import type { FarmTaskFact, FlowNode, FlowPlan, PlannedFlow } from "./flow-plan.js";
import type { ImportReport } from "./import-report.js";
import { confirmOnReplica, REPLICA_ACK_TIMEOUT_MS } from "./replica-ack.js";
import { CLAIM_TASKS_SCRIPT } from "./scripts/claim-tasks.js";
import { type FlowSink, type ImportOptions, recordInvalid } from "./task-importer.js";

type ClaimReply = ["claimed" | "exists" | "dir-taken", string];

export type AddFlowOutcome =
  | { outcome: "added" }
  | { outcome: "exists" }
  | { outcome: "dir-taken"; taken: { node: FlowNode; owner: string }[] };
interface ClaimCommand {
  wgpClaimTasks(...keysAndArgs: string[]): Promise<unknown>;
}

/**
 * Puts planned flows into the farm as BullMQ flows (one FlowProducer.add per flow: atomic). Like
 * single tasks, every job id and output folder is claimed first in the task index, so a re-import
 * finds the flow there and skips it, and an import that died between claim and add is completed
 * by the next one (BullMQ ignores the jobs that exist and adds the rest).
 */
export class RedisFlowSink implements FlowSink {
  readonly #farm: FarmConnection;
  readonly #replicaAckTimeoutMs: number;
  #producer: FlowProducer | undefined;

  constructor(farm: FarmConnection, replicaAckTimeoutMs = REPLICA_ACK_TIMEOUT_MS) {
    this.#farm = farm;
    this.#replicaAckTimeoutMs = replicaAckTimeoutMs;
    if (!("wgpClaimTasks" in farm.redis)) {
      farm.redis.defineCommand("wgpClaimTasks", { numberOfKeys: 2, lua: CLAIM_TASKS_SCRIPT });
    }
  }

  get #flows(): FlowProducer {
    if (!this.#producer) {
      this.#producer = new FlowProducer({ connection: this.#farm.redis, prefix: this.#farm.keys.prefix });
      this.#producer.on("error", redisErrorListener(this.#farm.redis, "flow producer"));
    }
    return this.#producer;
  }

  async farmFacts(ids: readonly string[]): Promise<Map<string, FarmTaskFact>> {
    const facts = new Map<string, FarmTaskFact>();
    await Promise.all(
      ids.map(async (id) => {
        const fact = await this.#factOf(id);
        if (fact) facts.set(id, fact);
      }),
    );
    return facts;
  }

  async #factOf(id: string): Promise<FarmTaskFact | undefined> {
    const { redis, keys, queues } = this.#farm;
    const queue = await redis.hget(keys.taskIndex, id);
    if (queue === null) {
      return (await redis.hexists(keys.cancelled, id)) === 1
        ? { state: "cancelled", queue: "", hasParent: false }
        : undefined;
    }
    if (queue === QUARANTINE_QUEUE) return { state: "quarantined", queue, hasParent: false };
    const job = await queues.byName(queue).getJob(id);
    if (!job) return { state: "missing", queue, hasParent: false };
    let state: string = await job.getState();
    if (state === "failed" && (job.failedReason ?? "").startsWith(CANCELLED_REASON_PREFIX))
      state = "cancelled";
    const hasParent = job.parentKey !== undefined && (await redis.exists(job.parentKey)) === 1;
    return { state, queue, hasParent };
  }

  async acceptFlows(plan: FlowPlan, report: ImportReport, options: ImportOptions): Promise<void> {
    for (const flow of plan.flows) await this.#acceptFlow(flow, report, options);
    if (plan.flows.length > 0) await confirmOnReplica(this.#farm.redis, this.#replicaAckTimeoutMs);
  }

  /**
   * Claims the jobs of a flow and adds it, unless every job exists already (a re-import). A job whose
   * output folder another task owns stops it: nothing is added and the claims are released.
   */
  async addFlow(root: FlowNode, nodes: readonly FlowNode[]): Promise<AddFlowOutcome> {
    const claims = await this.#claim(nodes);
    const taken = nodes.flatMap((node, i) =>
      claims[i]?.[0] === "dir-taken" ? [{ node, owner: claims[i]?.[1] ?? "" }] : [],
    );
    if (taken.length > 0) {
      await this.#release(nodes.filter((_, i) => claims[i]?.[0] === "claimed"));
      return { outcome: "dir-taken", taken };
    }
    if (claims.every(([outcome]) => outcome === "exists")) return { outcome: "exists" };
    await this.#farm.queues.registerModels(
      nodes.flatMap((node) => {
        const model = modelOfQueue(node.queue);
        return model === undefined ? [] : [model];
      }),
    );
    await this.#flows.add(await this.#flowJobOf(root));
    await this.#farm.work.announce(
      nodes.flatMap((node) => modelOfQueue(node.queue) ?? []),
      "add",
    );
    return { outcome: "added" };
  }

  async #acceptFlow(flow: PlannedFlow, report: ImportReport, options: ImportOptions): Promise<void> {
    const added = await this.addFlow(flow.root, flow.nodes);
    if (added.outcome === "dir-taken") {
      const { taken } = added;
      for (const pending of flow.members) {
        const own = taken.find(({ node }) => node.id === pending.task.task_id);
        const message = own
          ? `output folder '${own.node.output_sub_dir}' is already used by task '${own.owner}'`
          : `not imported: its flow has an output folder already in use (${taken.map(({ node }) => node.id).join(", ")})`;
        recordInvalid(
          report,
          options,
          {
            index: pending.index,
            task_id: pending.task.task_id,
            line: pending.line,
            errors: [{ path: own ? "output_sub_dir" : "", message }],
          },
          pending.raw,
        );
      }
      return;
    }
    if (added.outcome === "exists") {
      for (const pending of flow.members) {
        const fact = (await this.farmFacts([pending.task.task_id])).get(pending.task.task_id);
        report.skipped.push({
          index: pending.index,
          task_id: pending.task.task_id,
          queue: fact?.queue ?? "",
          state: fact?.state ?? "unknown",
        });
      }
      return;
    }
    const tasks = flow.members.flatMap(({ task }) => (isStitchTask(task) ? [] : [task as Task]));
    await FarmEvents.of(this.#farm).queued(tasks);
    for (const pending of flow.members) {
      const node = flow.nodes.find(({ id }) => id === pending.task.task_id);
      report.imported.push({
        index: pending.index,
        task_id: pending.task.task_id,
        queue: node?.queue ?? "",
        flow: flow.root.id,
      });
    }
  }

  async #claim(nodes: readonly FlowNode[]): Promise<ClaimReply[]> {
    const { redis, keys } = this.#farm;
    const args = nodes.flatMap((node) => [node.id, node.queue, node.output_sub_dir ?? ""]);
    const flat = (await (redis as unknown as ClaimCommand).wgpClaimTasks(
      keys.taskIndex,
      keys.outputDirs,
      ...args,
    )) as string[];
    return nodes.map((_, i) => [flat[2 * i], flat[2 * i + 1]] as ClaimReply);
  }

  async #release(nodes: readonly FlowNode[]): Promise<void> {
    if (nodes.length === 0) return;
    const { redis, keys } = this.#farm;
    await redis.hdel(keys.taskIndex, ...nodes.map(({ id }) => id));
    const dirs = nodes.flatMap(({ output_sub_dir: dir }) => (dir ? [dir] : []));
    if (dirs.length > 0) await redis.hdel(keys.outputDirs, ...dirs);
  }

  /** The BullMQ flow of a planned tree; an adopted job keeps what it has (BullMQ only links it). */
  async #flowJobOf(node: FlowNode): Promise<FlowJob> {
    const children = await Promise.all(node.children.map((child) => this.#flowJobOf(child)));
    let { name, data } = node;
    if (data === null) {
      const existing = await this.#farm.queues.byName(node.queue).getJob(node.id);
      name = existing?.name ?? node.id;
      data = existing?.data ?? null;
    }
    return {
      name,
      queueName: node.queue,
      data,
      opts: node.opts,
      ...(children.length > 0 ? { children } : {}),
    } as FlowJob;
  }

  async close(): Promise<void> {
    await this.#producer?.close();
  }
}
