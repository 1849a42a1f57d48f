import os from "node:os";
import { type GpuInfo, GpuQueryError, listGpus } from "@wgp-farm/host";

/** One GPU slot of this worker: one engine on one GPU, with an identity unique in the farm. */
export interface SlotPlan {
  /** `gpu<index>@<host>` (`gpu<index>-<n>@<host>` when several slots share a GPU). */
  slotId: string;
  host: string;
  gpuIndex: number;
  gpuName: string | null;
}

export class GpuDetectionError extends Error {
  override name = "GpuDetectionError";
}

/**
 * The host part of slot ids. Slot ids show up in job fields, Redis keys and Bull Board; BullMQ
 * refuses `:` in ids, so it is replaced, as is white space.
 */
export function workerHostName(name: string = os.hostname()): string {
  const cleaned = name.trim().replace(/[:\s/]+/g, "-");
  if (!cleaned) throw new GpuDetectionError("the worker name must not be empty");
  return cleaned;
}

async function detectGpus(nvidiaSmi: string | undefined): Promise<{ gpus: GpuInfo[]; problem?: string }> {
  try {
    return { gpus: await listGpus(nvidiaSmi ? { nvidiaSmi } : {}) };
  } catch (error) {
    if (error instanceof GpuQueryError) return { gpus: [], problem: error.message };
    throw error;
  }
}

export interface SlotPlanOptions {
  gpus?: "auto" | number[];
  slots?: number;
  name?: string;
  nvidiaSmi?: string;
}

/**
 * The slots this worker runs: one per GPU nvidia-smi reports (`auto`) or per GPU named; `slots`
 * overrides the count (spread over the GPUs in turn). No GPU found is an error unless GPUs or a
 * slot count are given (dry-run and tests run on virtual GPU indices).
 */
export async function planSlots(options: SlotPlanOptions): Promise<SlotPlan[]> {
  const host = workerHostName(options.name);
  const { gpus: detected, problem } = await detectGpus(options.nvidiaSmi);
  const names = new Map(detected.map((gpu) => [gpu.index, gpu.name]));
  let indices: number[];
  if (Array.isArray(options.gpus)) {
    indices = [...new Set(options.gpus)];
    const unknown = detected.length > 0 ? indices.filter((index) => !names.has(index)) : [];
    if (unknown.length > 0) {
      throw new GpuDetectionError(
        `GPU ${unknown.join(", ")} not found; nvidia-smi reports ${[...names.keys()].join(", ")}`,
      );
    }
  } else if (detected.length > 0) {
    indices = detected.map((gpu) => gpu.index);
  } else if (options.slots !== undefined) {
    indices = Array.from({ length: options.slots }, (_, i) => i);
  } else {
    throw new GpuDetectionError(
      `no GPU found (${problem ?? "nvidia-smi lists none"}). Give --gpus 0,1,… or --slots N to run without nvidia-smi (e.g. with --engine dry-run).`,
    );
  }
  if (indices.length === 0) throw new GpuDetectionError("no GPU given");
  const count = options.slots ?? indices.length;
  if (!Number.isInteger(count) || count < 1) throw new GpuDetectionError("the slot count must be at least 1");
  const perGpu = new Map<number, number>();
  const assigned = Array.from({ length: count }, (_, i) => indices[i % indices.length] as number);
  for (const index of assigned) perGpu.set(index, (perGpu.get(index) ?? 0) + 1);
  const seen = new Map<number, number>();
  return assigned.map((gpuIndex) => {
    const n = seen.get(gpuIndex) ?? 0;
    seen.set(gpuIndex, n + 1);
    const gpuPart = (perGpu.get(gpuIndex) ?? 1) > 1 ? `gpu${gpuIndex}-${n}` : `gpu${gpuIndex}`;
    return { slotId: `${gpuPart}@${host}`, host, gpuIndex, gpuName: names.get(gpuIndex) ?? null };
  });
}
