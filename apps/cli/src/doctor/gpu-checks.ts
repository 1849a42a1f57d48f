import { type GpuInfo, GpuQueryError, listGpus, readHostMemory } from "@wgp-farm/host";
import { type CheckResult, check } from "./check-result.js";

/**
 * Each slot's WanGP process keeps its own copy of the weights in host RAM (mmgp offloads to, and
 * streams from, pinned CPU memory; nothing is shared between processes). A 14B Wan model with its
 * int8 text encoder takes roughly 20–30 GiB there, so below this per GPU the host swaps or OOMs.
 */
export const RECOMMENDED_RAM_PER_GPU_GIB = 32;

const GIB = 2 ** 30;
const gib = (bytes: number) => `${(bytes / GIB).toFixed(bytes < 10 * GIB ? 1 : 0)} GiB`;

function describeGpus(gpus: readonly GpuInfo[]): string {
  return gpus.map((gpu) => `${gpu.index} ${gpu.name} ${gib(gpu.memoryTotalMiB * 2 ** 20)}`).join("; ");
}

async function ramCheck(gpuCount: number): Promise<CheckResult> {
  const memory = await readHostMemory();
  const where = memory.limitedByCgroup ? " (container/cgroup limit)" : "";
  const details = { total_bytes: memory.totalBytes, available_bytes: memory.availableBytes ?? null };
  if (gpuCount === 0) {
    return check("gpu", "host-ram", "ok", `${gib(memory.totalBytes)} RAM${where}`, { details });
  }
  const perGpu = memory.totalBytes / gpuCount;
  const summary = `${gib(memory.totalBytes)} RAM${where} for ${gpuCount} GPU${gpuCount === 1 ? "" : "s"}: ${gib(perGpu)} per GPU`;
  if (perGpu < RECOMMENDED_RAM_PER_GPU_GIB * GIB) {
    return check(
      "gpu",
      "host-ram",
      "warn",
      `${summary}, below the ${RECOMMENDED_RAM_PER_GPU_GIB} GiB a 14B model needs`,
      {
        fix: "each GPU's WanGP process holds its own copy of the weights in RAM: run fewer slots (--gpus 0,1), add RAM, or use smaller models / a lower-RAM WanGP profile (--wgp-profile)",
        details,
      },
    );
  }
  return check("gpu", "host-ram", "ok", summary, { details });
}

/** GPUs from nvidia-smi (the ones the worker will use), and host RAM per GPU. */
export async function checkGpus(options: {
  engine: "wangp" | "dry-run";
  gpus: "auto" | readonly number[];
  nvidiaSmi?: string;
}): Promise<CheckResult[]> {
  let found: GpuInfo[];
  try {
    found = await listGpus(options.nvidiaSmi ? { nvidiaSmi: options.nvidiaSmi } : {});
  } catch (error) {
    const message = error instanceof GpuQueryError ? error.message : String(error);
    const needed = options.engine === "wangp";
    return [
      check(
        "gpu",
        "gpus",
        needed ? "fail" : "warn",
        needed ? message : `${message} (fine for --engine dry-run)`,
        {
          fix: "install the NVIDIA driver (in Docker also the NVIDIA Container Toolkit and a GPU reservation); to try the farm without GPUs, run workers with --engine dry-run",
        },
      ),
      await ramCheck(0),
    ];
  }
  const selected = options.gpus;
  const wanted = selected === "auto" ? found : found.filter((gpu) => selected.includes(gpu.index));
  const missing = selected === "auto" ? [] : selected.filter((i) => !found.some((gpu) => gpu.index === i));
  const checks: CheckResult[] = [];
  if (missing.length > 0) {
    checks.push(
      check(
        "gpu",
        "gpus",
        "fail",
        `GPU ${missing.join(", ")} not found; nvidia-smi lists ${found.length}: ${describeGpus(found)}`,
        {
          fix: "use indices nvidia-smi shows (--gpus / WGP_FARM_GPUS), or auto",
        },
      ),
    );
  } else if (wanted.length === 0) {
    checks.push(
      check("gpu", "gpus", options.engine === "wangp" ? "fail" : "warn", "nvidia-smi lists no GPU", {
        fix: "check the driver (nvidia-smi), and in Docker the GPU reservation of the service",
      }),
    );
  } else {
    checks.push(
      check(
        "gpu",
        "gpus",
        "ok",
        `${wanted.length} GPU${wanted.length === 1 ? "" : "s"}: ${describeGpus(wanted)}`,
        {
          details: { gpus: wanted },
        },
      ),
    );
  }
  checks.push(await ramCheck(wanted.length));
  return checks;
}
