import { GpuQueryError } from "./errors.js";
import { CommandFailedError, runCommand } from "./run-command.js";

export interface GpuInfo {
  /** The index nvidia-smi and CUDA_VISIBLE_DEVICES use. */
  index: number;
  name: string;
  memoryTotalMiB: number;
  uuid: string;
}

const QUERY_ARGS = ["--query-gpu=index,name,memory.total,uuid", "--format=csv,noheader,nounits"];

/**
 * One GPU per line: `0, NVIDIA H100 80GB HBM3, 81559, GPU-6f1c…`. The name is everything between
 * the index and the last two fields, so a name that contains a comma survives.
 */
export function parseGpuQuery(output: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of output.split("\n")) {
    if (!line.trim()) continue;
    const fields = line.split(",").map((field) => field.trim());
    if (fields.length < 4) throw new Error(`unexpected nvidia-smi line: ${line}`);
    const index = Number(fields[0]);
    const memory = Number(fields.at(-2));
    if (!Number.isInteger(index) || !Number.isFinite(memory)) {
      throw new Error(`unexpected nvidia-smi line: ${line}`);
    }
    gpus.push({
      index,
      name: fields.slice(1, -2).join(", "),
      memoryTotalMiB: memory,
      uuid: fields.at(-1) ?? "",
    });
  }
  return gpus;
}

/** The GPUs nvidia-smi sees (all of them: CUDA_VISIBLE_DEVICES does not filter nvidia-smi). */
export async function listGpus(options: { nvidiaSmi?: string; timeoutMs?: number } = {}): Promise<GpuInfo[]> {
  const binary = options.nvidiaSmi ?? "nvidia-smi";
  try {
    const { stdout } = await runCommand(binary, QUERY_ARGS, { timeoutMs: options.timeoutMs ?? 20_000 });
    return parseGpuQuery(stdout);
  } catch (error) {
    if (error instanceof CommandFailedError && error.code === "ENOENT") {
      throw new GpuQueryError(`${binary} not found: no NVIDIA driver on this machine`, true);
    }
    throw new GpuQueryError((error as Error).message, false);
  }
}
