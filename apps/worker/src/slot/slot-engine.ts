import path from "node:path";
import type { Logger } from "@wgp-farm/config";
import { EngineSupervisor, type EngineSupervisorOptions } from "@wgp-farm/engine";
import type { SlotPlan } from "../gpu-detection.js";
import type { ResolvedWorkerOptions } from "../worker-options.js";

/** The worker options a slot's engine is made from. */
export type SlotEngineOptions = Pick<
  ResolvedWorkerOptions,
  | "engine"
  | "wangpRoot"
  | "stateDir"
  | "python"
  | "wgpOptions"
  | "wangpArgs"
  | "dryRunDurationS"
  | "engineEnv"
  | "hangTimeoutMs"
  | "engineReadyTimeoutMs"
  | "recycleAfterJobs"
  | "recycleRssMb"
>;

/** The engine of one slot: its GPU, its own WanGP config folder, and when it is recycled. */
export function slotEngineOptions(
  plan: SlotPlan,
  options: SlotEngineOptions,
  logger: Logger,
): EngineSupervisorOptions {
  return {
    adapter: options.engine,
    wangpRoot: options.wangpRoot,
    configDir: path.join(options.stateDir, plan.slotId),
    gpu: plan.gpuIndex,
    python: options.python,
    wgpOptions: options.wgpOptions,
    wangpArgs: options.wangpArgs,
    dryRunDurationS: options.dryRunDurationS,
    env: options.engineEnv,
    hangTimeoutMs: options.hangTimeoutMs,
    readyTimeoutMs: options.engineReadyTimeoutMs,
    recycle: { afterJobs: options.recycleAfterJobs, aboveRssMiB: options.recycleRssMb },
    logger,
  };
}

/**
 * Builds a slot's engine. The product always runs EngineSupervisor; the farm simulator passes a
 * virtual engine (a subclass with no process behind it) through `startFarmWorker`'s test seams.
 */
export type SlotEngineFactory = (options: EngineSupervisorOptions) => EngineSupervisor;

export const superviseEngineProcess: SlotEngineFactory = (options) => new EngineSupervisor(options);
