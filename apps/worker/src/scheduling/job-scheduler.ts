import { type FarmKeys, modelQueueName, type SlotRegistry, type SlotStatus } from "@wgp-farm/queue";
import { QueueKeys } from "bullmq";
import type { Redis } from "ioredis";
import type { SchedulingPolicyName } from "../worker-options.js";
import { decideNextQueue, type QueueSnapshot, type SchedulingDecision } from "./scheduling-policy.js";
import { CLAIM_SWITCH_SCRIPT } from "./scripts/claim-switch.js";
import { QUEUE_SNAPSHOT_SCRIPT } from "./scripts/queue-snapshot.js";

interface SchedulerCommands {
  wgpQueueSnapshot(...keysAndArgs: (string | number)[]): Promise<[number, string, string, number, number]>;
  wgpClaimSwitch(...keysAndArgs: (string | number)[]): Promise<number>;
}

export interface JobSchedulerOptions {
  policy: SchedulingPolicyName;
  maxWaitMs: number;
  backlogPerSlot: number;
  /** How long a switch claim holds when its slot never confirms it (a claim lives for milliseconds otherwise). */
  claimTtlMs?: number;
}

/** Where a slot should fetch next, or why not now. */
export type NextWork =
  | { kind: "take"; model: string; queue: string; switching: boolean; claimed: boolean }
  | { kind: "idle"; recheckAt: number | null };

/** Slot states that take jobs of the model they hold. */
const SERVING_STATES: ReadonlySet<SlotStatus["state"]> = new Set(["idle", "loading", "busy", "starting"]);

/**
 * Reads the model queues (one script call per queue, pipelined) and the slot registry when a model
 * switch is possible, lets the scheduling policy decide, and takes a switch claim in Redis so that
 * slots on every host coordinate.
 */
export class JobScheduler {
  readonly #redis: Redis;
  readonly #commands: SchedulerCommands;
  readonly #keys: FarmKeys;
  /** BullMQ's key layout of its queues. */
  readonly #queueKeys: QueueKeys;
  readonly #registry: SlotRegistry;
  readonly #options: JobSchedulerOptions;
  readonly #claimTtlMs: number;
  #deciding: Promise<unknown> = Promise.resolve();

  constructor(redis: Redis, keys: FarmKeys, registry: SlotRegistry, options: JobSchedulerOptions) {
    if (!("wgpQueueSnapshot" in redis)) {
      redis.defineCommand("wgpQueueSnapshot", { numberOfKeys: 6, lua: QUEUE_SNAPSHOT_SCRIPT });
      redis.defineCommand("wgpClaimSwitch", { numberOfKeys: 1, lua: CLAIM_SWITCH_SCRIPT });
    }
    this.#redis = redis;
    this.#commands = redis as unknown as SchedulerCommands;
    this.#keys = keys;
    this.#queueKeys = new QueueKeys(keys.prefix);
    this.#registry = registry;
    this.#options = options;
    this.#claimTtlMs = options.claimTtlMs ?? 10_000;
  }

  async snapshot(models: readonly string[], now = Date.now()): Promise<QueueSnapshot[]> {
    return Promise.all(
      models.map(async (model) => {
        const queue = modelQueueName(model);
        const key = (type: string) => this.#queueKeys.toKey(queue, type);
        const [ready, head, nextDelayed, blocked, claims] = await this.#commands.wgpQueueSnapshot(
          key("wait"),
          key("prioritized"),
          key("delayed"),
          key("meta"),
          key("active"),
          this.#keys.switchClaims(model),
          // The queue's own prefix, from which the script builds job keys.
          key(""),
          now,
        );
        return {
          model,
          queue,
          ready: Number(ready),
          headAgeMs: head === "" ? null : Math.max(0, now - Number(head)),
          nextDelayedAt: nextDelayed === "" ? null : Number(nextDelayed),
          blocked: Number(blocked) === 1,
          claims: Number(claims),
        };
      }),
    );
  }

  /**
   * Decides, and claims the model when the decision loads a model that is not the slot's. The slots
   * of one process decide one at a time, so that each sees the claims of the others.
   */
  next(slotId: string, loadedModel: string | null, models: readonly string[]): Promise<NextWork> {
    const decision = this.#deciding.then(() => this.#next(slotId, loadedModel, models));
    // Only the order matters here: the caller gets the decision, failure included.
    this.#deciding = decision.catch(() => undefined);
    return decision;
  }

  async #next(slotId: string, loadedModel: string | null, models: readonly string[]): Promise<NextWork> {
    const now = Date.now();
    const queues = await this.snapshot(models, now);
    const input = {
      policy: this.#options.policy,
      loadedModel,
      queues,
      servers: undefined as Map<string, number> | undefined,
      now,
      maxWaitMs: this.#options.maxWaitMs,
      backlogPerSlot: this.#options.backlogPerSlot,
    };
    let decision: SchedulingDecision = decideNextQueue(input);
    if (decision.kind === "need-servers") {
      input.servers = await this.#servers(slotId);
      decision = decideNextQueue(input);
    }
    if (decision.kind === "idle") return decision;
    if (decision.kind !== "take") return { kind: "idle", recheckAt: null };
    const queue = modelQueueName(decision.model);
    const needsClaim = decision.model !== loadedModel && this.#options.policy === "affinity";
    if (!needsClaim)
      return { kind: "take", model: decision.model, queue, switching: decision.switching, claimed: false };
    const serving = input.servers?.get(decision.model) ?? 0;
    const claimed = await this.#claim(decision.model, slotId, serving, decision.helpersAllowed);
    // Refused: other slots got there first; the caller decides again with fresh numbers.
    if (!claimed) return { kind: "idle", recheckAt: now };
    return { kind: "take", model: decision.model, queue, switching: decision.switching, claimed: true };
  }

  async release(model: string, slotId: string): Promise<void> {
    await this.#redis.zrem(this.#keys.switchClaims(model), slotId);
  }

  async #claim(model: string, slotId: string, serving: number, allowed: number): Promise<boolean> {
    const now = Date.now();
    const result = await this.#commands.wgpClaimSwitch(
      this.#keys.switchClaims(model),
      slotId,
      now + this.#claimTtlMs,
      now,
      serving,
      Number.isFinite(allowed) ? allowed : 1_000_000,
    );
    return Number(result) === 1;
  }

  /** Other live slots of the farm holding each model, by model. */
  async #servers(selfId: string): Promise<Map<string, number>> {
    const servers = new Map<string, number>();
    for (const slot of await this.#registry.list()) {
      if (slot.slot_id === selfId || !slot.loaded_model || !SERVING_STATES.has(slot.state)) continue;
      servers.set(slot.loaded_model, (servers.get(slot.loaded_model) ?? 0) + 1);
    }
    return servers;
  }
}
