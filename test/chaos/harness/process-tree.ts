/** Processes as /proc shows them: children of a worker (its engine-py processes), memory, liveness. */
import { readdir, readFile } from "node:fs/promises";

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** argv, NUL-separated in /proc, here split. */
  argv: string[];
}

async function infoOf(pid: number): Promise<ProcessInfo | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may contain spaces: the fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").filter(Boolean);
    return { pid, ppid: Number(fields[1]), argv };
  } catch {
    return undefined;
  }
}

/** Every process this machine has now (the ones that vanish while read are left out). */
export async function listProcesses(): Promise<ProcessInfo[]> {
  const pids = (await readdir("/proc")).filter((name) => /^\d+$/.test(name)).map(Number);
  const infos = await Promise.all(pids.map(infoOf));
  return infos.filter((info): info is ProcessInfo => info !== undefined);
}

/** The direct children of `pid`. */
export async function childrenOf(pid: number): Promise<ProcessInfo[]> {
  return (await listProcesses()).filter((info) => info.ppid === pid);
}

/** The engine-py processes (`python -m wgp_bridge`) started by a worker process. */
export async function enginesOf(workerPid: number): Promise<ProcessInfo[]> {
  return (await childrenOf(workerPid)).filter((info) => info.argv.includes("wgp_bridge"));
}

/** The GPU index an engine was started on (its CUDA_VISIBLE_DEVICES). */
export async function gpuOfEngine(pid: number): Promise<number | undefined> {
  try {
    const environ = (await readFile(`/proc/${pid}/environ`, "utf8")).split("\0");
    const entry = environ.find((line) => line.startsWith("CUDA_VISIBLE_DEVICES="));
    return entry ? Number(entry.slice("CUDA_VISIBLE_DEVICES=".length)) : undefined;
  } catch {
    return undefined;
  }
}

/** Resident memory in MiB, or undefined when the process is gone. */
export async function residentMiB(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match?.[1] ? Number(match[1]) / 1024 : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Engine processes whose worker is gone (re-parented to init or a subreaper): what a dead worker left. */
export async function orphanEngines(knownWorkerPids: ReadonlySet<number>, marker: string): Promise<number[]> {
  return (await listProcesses())
    .filter((info) => info.argv.includes("wgp_bridge") && info.argv.some((arg) => arg.includes(marker)))
    .filter((info) => !knownWorkerPids.has(info.ppid))
    .map((info) => info.pid);
}

/** The state letter /proc gives a process (R running, S sleeping, T stopped, Z zombie …), or undefined when gone. */
export async function processState(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}
