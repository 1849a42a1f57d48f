import type { Logger } from "@wgp-farm/config";
import type { EngineSupervisor } from "@wgp-farm/engine";
import { FarmKeys, HostCatalogs } from "@wgp-farm/queue";
import type { Redis } from "ioredis";
import { SlotEvents } from "../events/slot-events.js";
import type { SlotPlan } from "../gpu-detection.js";
import type { ResolvedWorkerOptions } from "../worker-options.js";
import { HostWangpPublisher } from "./host-wangp.js";
import { ModelWeightsGate } from "./model-weights-gate.js";

/** The per-slot helpers a GpuSlot gets from its worker: what it tells the farm besides its status, and the weights gate. */
export interface SlotHelpers {
  /** Publishes what the slot's engine's WanGP knows. */
  hostWangp: HostWangpPublisher;
  /** One slot per host fetches a model's missing weights. */
  weights: ModelWeightsGate;
  /** The farm event log of the slot's jobs. */
  events: SlotEvents;
}

/** The worker options the slot services are made from. */
export type SlotServicesOptions = Pick<
  ResolvedWorkerOptions,
  "prefix" | "slotStatusTtlMs" | "engine" | "wangpRoot"
>;

/**
 * Built once by the worker process and handed to each slot: makes that slot's helpers over the
 * process's command connection, so a slot needs no Redis keys or host paths of its own.
 */
export class SlotServices {
  readonly #redis: Redis;
  readonly #options: SlotServicesOptions;

  constructor(redis: Redis, options: SlotServicesOptions) {
    this.#redis = redis;
    this.#options = options;
  }

  /** The helpers of the slot of `plan`, whose engine is `engine`. */
  forSlot(plan: SlotPlan, engine: EngineSupervisor, logger: Logger): SlotHelpers {
    const { engine: kind, wangpRoot, prefix, slotStatusTtlMs } = this.#options;
    const catalogs = new HostCatalogs(this.#redis, new FarmKeys(prefix), slotStatusTtlMs);
    return {
      hostWangp: new HostWangpPublisher(catalogs, plan, logger),
      weights: new ModelWeightsGate(engine, kind === "wangp" ? wangpRoot : undefined, logger),
      events: new SlotEvents(plan, this.#redis, prefix, logger),
    };
  }
}
