import { type OptionValues, valuesOf } from "@wgp-farm/config";
import { EngineStartError } from "@wgp-farm/engine";
import {
  type FarmWorkerHandle,
  type FarmWorkerOptions,
  GpuDetectionError,
  startFarmWorker,
  WORKER_OPTION_SET,
} from "@wgp-farm/worker";
import { CliError } from "./exit-codes.js";
import { WGP_OPTION_SET, wgpOptionsOf } from "./wgp-options.js";

/** Options of a GPU worker (`worker`, and the worker inside `headless`), Redis's aside. */
export const WORKER_OPTIONS = { ...WORKER_OPTION_SET, ...WGP_OPTION_SET };

/** The worker options among what a command read, Redis aside (the caller knows which Redis). */
export function workerOptionsOf(
  values: OptionValues<typeof WORKER_OPTIONS>,
): Omit<FarmWorkerOptions, "redisUrl" | "prefix"> {
  return { ...valuesOf(WORKER_OPTION_SET, values), wgpOptions: wgpOptionsOf(values) };
}

/** Starts a worker, turning GPU detection and engine start-up failures into messages for the user. */
export async function startWorkerOrExplain(options: FarmWorkerOptions): Promise<FarmWorkerHandle> {
  try {
    return await startFarmWorker(options);
  } catch (error) {
    if (error instanceof GpuDetectionError) throw new CliError(error.message);
    if (error instanceof EngineStartError) {
      const tail = error.stderrTail.slice(-10).join("\n  ");
      throw new CliError(`an engine did not start: ${error.message}${tail ? `\n  ${tail}` : ""}`);
    }
    throw error;
  }
}
