import { readFile } from "node:fs/promises";
import os from "node:os";

export interface HostMemory {
  /** RAM this process may use: the machine's, or the container's cgroup limit when lower. */
  totalBytes: number;
  /** MemAvailable from /proc/meminfo (free plus reclaimable), when readable. */
  availableBytes: number | undefined;
  /** True when a cgroup limit (container, systemd MemoryMax) is what bounds totalBytes. */
  limitedByCgroup: boolean;
}

async function memAvailable(): Promise<number | undefined> {
  try {
    const text = await readFile("/proc/meminfo", "utf8");
    const match = /^MemAvailable:\s+(\d+)\s+kB/m.exec(text);
    return match?.[1] ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export async function readHostMemory(): Promise<HostMemory> {
  const machine = os.totalmem();
  // 0, or a huge number, when no cgroup limit applies.
  const constrained = process.constrainedMemory();
  const limitedByCgroup = constrained > 0 && constrained < machine;
  return {
    totalBytes: limitedByCgroup ? constrained : machine,
    availableBytes: await memAvailable(),
    limitedByCgroup,
  };
}
