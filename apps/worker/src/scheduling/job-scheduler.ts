import { type FarmKeys, ModelBacklog, modelQueueName } from "@wgp-farm/queue";
import type { Redis } from "ioredis";
import type { SchedulingPolicyName } from "../worker-options.js";
import {
  decideNextQueue,
  type IdleReason,
  type QueueSnapshot,
  type SchedulingDecision,
  type TakeRule,
} from "./scheduling-policy.js";
import { CLAIM_SWITCH_SCRIPT } from "./scripts/claim-switch.js";

/** The slot registry's own default. */
const DEFAULT_SLOT_STATUS_TTL_MS = 15_000;

interface SchedulerCommands {
  wgpClaimSwitch(...keysAndArgs: (string | number)[]): Promise<number>;
}

export interface JobSchedulerOptions {
  policy: SchedulingPolicyName;
  maxWaitMs: number;
  backlogPerSlot: number;
  /** How long a switch claim holds when its slot never confirms it (a claim lives for milliseconds otherwise). */
  claimTtlMs?: number;
  /** A slot that has not published its status for this long is not counted among the farm's slots. */
  slotStatusTtlMs?: number;
}

/** Where a slot should fetch next, or why not now. */
export type NextWork =
  | { kind: "take"; model: string; queue: string; switching: boolean; claimed: boolean; why?: TakeRule }
  | { kind: "idle"; recheckAt: number | null; why: IdleReason };

/** What the scheduler read: the queues, and the live slots holding each model. */
export interface FarmSnapshot {
  queues: QueueSnapshot[];
  /** Other live slots holding each model. */
  serving: Map<string, number>;
  /** The farm's live slots, the reader included. */
  liveSlots: number;
}

/**
 * Reads every model queue and the per-model count of serving slots in one script call (whatever the
 * number of queues), lets the scheduling policy decide, and takes a switch claim in Redis so that
 * slots on every host coordinate.
 */
export class JobScheduler {
  readonly #redis: Redis;
  readonly #commands: SchedulerCommands;
  readonly #keys: FarmKeys;
  readonly #backlog: ModelBacklog;
  readonly #options: JobSchedulerOptions;
  readonly #claimTtlMs: number;
  #deciding: Promise<unknown> = Promise.resolve();

  constructor(redis: Redis, keys: FarmKeys, options: JobSchedulerOptions) {
    if (!("wgpClaimSwitch" in redis)) {
      redis.defineCommand("wgpClaimSwitch", { numberOfKeys: 2, lua: CLAIM_SWITCH_SCRIPT });
    }
    this.#redis = redis;
    this.#commands = redis as unknown as SchedulerCommands;
    this.#keys = keys;
    this.#backlog = new ModelBacklog(redis, keys);
    this.#options = options;
    this.#claimTtlMs = options.claimTtlMs ?? 10_000;
  }

  async snapshot(models: readonly string[], now = Date.now(), selfSlotId = ""): Promise<FarmSnapshot> {
    const liveSince = now - (this.#options.slotStatusTtlMs ?? DEFAULT_SLOT_STATUS_TTL_MS);
    const { entries, liveSlots } = await this.#backlog.readFarm(models, now, selfSlotId, liveSince);
    return {
      liveSlots,
      queues: entries.map((entry) => ({
        model: entry.model,
        queue: entry.queue,
        ready: entry.ready,
        headAgeMs: entry.headAt === null ? null : Math.max(0, now - entry.headAt),
        nextDelayedAt: entry.nextDelayedAt,
        blocked: entry.blocked,
        claims: entry.claims,
        loadMs: entry.loadMs,
        jobMs: entry.jobMs,
        running: entry.running,
        tailStartedAt: entry.tailStartedAt,
      })),
      serving: new Map(entries.map((entry) => [entry.model, entry.serving])),
    };
  }

  /**
   * Decides, and claims the model when the decision loads a model that is not the slot's. The slots
   * of one process decide one at a time, so that each sees the claims of the others.
   */
  next(
    slotId: string,
    loadedModel: string | null,
    models: readonly string[],
    partial = false,
  ): Promise<NextWork> {
    const decision = this.#deciding.then(() => this.#next(slotId, loadedModel, models, partial));
    // Only the order matters here: the caller gets the decision, failure included.
    this.#deciding = decision.catch(() => undefined);
    return decision;
  }

  async #next(
    slotId: string,
    loadedModel: string | null,
    models: readonly string[],
    partial: boolean,
  ): Promise<NextWork> {
    const now = Date.now();
    const { queues, serving, liveSlots } = await this.snapshot(models, now, slotId);
    const input = {
      slots: liveSlots,
      partial,
      policy: this.#options.policy,
      loadedModel,
      queues,
      servers: serving,
      now,
      maxWaitMs: this.#options.maxWaitMs,
      backlogPerSlot: this.#options.backlogPerSlot,
    };
    const decision: SchedulingDecision = decideNextQueue(input);
    if (decision.kind === "idle") return decision;
    const { model, switching, why } = decision;
    const queue = modelQueueName(model);
    const needsClaim = model !== loadedModel && this.#options.policy === "affinity";
    if (!needsClaim) return { kind: "take", model, queue, switching, claimed: false, why };
    const claimed = await this.#claim(decision.model, slotId, decision.helpersAllowed);
    // Refused: other slots got there first; the caller decides again with fresh numbers.
    if (!claimed) return { kind: "idle", recheckAt: now, why: { rule: "claim-refused", model } };
    return { kind: "take", model, queue, switching, claimed: true, why };
  }

  /** What a slot's engine measured of a completed job: the model's typical times, for later switch decisions. */
  async recordJob(model: string, times: { loadMs: number; generationMs: number }): Promise<void> {
    await this.#backlog.recordJob(model, times);
  }

  async release(model: string, slotId: string): Promise<void> {
    await this.#redis.zrem(this.#keys.switchClaims(model), slotId);
  }

  async #claim(model: string, slotId: string, allowed: number): Promise<boolean> {
    const now = Date.now();
    const result = await this.#commands.wgpClaimSwitch(
      this.#keys.switchClaims(model),
      this.#keys.serving(model),
      slotId,
      now + this.#claimTtlMs,
      now,
      Number.isFinite(allowed) ? allowed : 1_000_000,
    );
    return Number(result) === 1;
  }
}
