/**
 * Freezing a worker the way a stuck host would: SIGSTOP to the worker's Node process only, so that it
 * stops renewing its locks and heartbeats while its engine-py children go on running (they are not
 * signalled; the worker's process group is left alone). SIGCONT thaws it.
 */
import { readFile } from "node:fs/promises";
import { until } from "./farm-watch.ts";
import { processState } from "./process-tree.ts";
import type { WorkerProcess } from "./worker-process.ts";

/** The spawned pid is the Node process itself: bin/wgp-farm `exec`s node, keeping its pid. */
async function assertNodeProcess(pid: number): Promise<void> {
  const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0");
  if (!/(^|\/)node$/.test(argv[0] ?? ""))
    throw new Error(`pid ${pid} is not a Node process: ${argv.join(" ")}`);
}

/** Stops the worker's Node process (not its engines); resolves once /proc shows it stopped. */
export async function freezeWorker(worker: WorkerProcess, timeoutMs = 5_000): Promise<void> {
  if (!worker.running) throw new Error(`worker ${worker.spec.name} is not running`);
  await assertNodeProcess(worker.pid);
  process.kill(worker.pid, "SIGSTOP");
  await until(
    async () => ((await processState(worker.pid)) === "T" ? true : undefined),
    timeoutMs,
    `worker ${worker.spec.name} (pid ${worker.pid}) to stop`,
    20,
  );
}

/** Lets a frozen worker go on; resolves once /proc no longer shows it stopped. */
export async function thawWorker(worker: WorkerProcess, timeoutMs = 5_000): Promise<void> {
  if (!worker.running) return;
  process.kill(worker.pid, "SIGCONT");
  await until(
    async () => ((await processState(worker.pid)) !== "T" ? true : undefined),
    timeoutMs,
    `worker ${worker.spec.name} (pid ${worker.pid}) to run again`,
    20,
  );
}
