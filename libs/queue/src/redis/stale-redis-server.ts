import { readFile, readlink, realpath, rm } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** The pid file a private redis-server keeps in its data folder while it runs. */
export function redisPidFile(dataDir: string): string {
  return path.join(dataDir, "redis-server.pid");
}

/**
 * Whether `pid` is a live redis-server serving `dataDir`. Redis rewrites its command line, but it
 * works in its data folder (`--dir`), so its working directory tells which server it is.
 */
async function isRedisServerOf(pid: number, dataDir: string): Promise<boolean> {
  const name = await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "");
  if (!name.startsWith("redis-server")) return false;
  const [cwd, dir] = await Promise.all([
    readlink(`/proc/${pid}/cwd`).catch(() => ""),
    realpath(dataDir).catch(() => dataDir),
  ]);
  return cwd === dir;
}

/**
 * Stops a private redis-server that an earlier run left behind on `dataDir` (its owner was killed
 * with SIGKILL, or its terminal closed): two servers must never write one AOF. SIGTERM lets it
 * flush its AOF; it gets `graceMs`, then SIGKILL. Returns the pid it stopped, if any.
 */
export async function stopStaleRedisServer(dataDir: string, graceMs = 10_000): Promise<number | undefined> {
  const pidFile = redisPidFile(dataDir);
  const pid = Number((await readFile(pidFile, "utf8").catch(() => "")).trim());
  if (!Number.isInteger(pid) || pid <= 0 || !(await isRedisServerOf(pid, dataDir))) {
    await rm(pidFile, { force: true });
    return undefined;
  }
  process.kill(pid, "SIGTERM");
  for (let waited = 0; waited < graceMs && (await isRedisServerOf(pid, dataDir)); waited += 50)
    await sleep(50);
  if (await isRedisServerOf(pid, dataDir)) process.kill(pid, "SIGKILL");
  await rm(pidFile, { force: true });
  return pid;
}
