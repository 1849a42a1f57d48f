import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { STAGING_DIR_NAME } from "../src/output/output-publisher.js";
import {
  eventually,
  spawnWorkerProcess,
  stagedFolders,
  t2vTask,
  testFarm,
  workerRunningTask,
} from "./support.js";

/** The running processes among `pids` (a zombie nobody reaped yet has exited). */
async function alive(pids: readonly number[]): Promise<number[]> {
  const states = await Promise.all(
    pids.map(async (pid) => {
      const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
      return stat !== null && stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
    }),
  );
  return pids.filter((_, i) => states[i]);
}

/** The process ids of a process's children, from /proc. */
async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8");
  return text.trim().split(/\s+/).filter(Boolean).map(Number);
}

describe("an engine whose worker is SIGKILLed", () => {
  it("ends with it, even in a job that ignores cancel, and writes nothing into the staging folder after", async () => {
    const tf = await testFarm("engine-orphan");
    // The job hangs at step 2 and ignores cancel: before, the engine outlived its worker by its
    // shutdown grace (10 s), and a job that could still finish then moved its files into staging.
    const doomed = await workerRunningTask(
      tf,
      t2vTask("orphaned", { steps: 30, output_sub_dir: "orphaned" }),
      () =>
        spawnWorkerProcess(tf, "doomed-host", [], {
          FAKE_WANGP_STEP_S: "0.05",
          FAKE_WANGP_FAULT: "hang",
          FAKE_WANGP_FAULT_STEP: "2",
        }),
    );
    const workerPid = doomed.child.pid as number;
    const engines = await childrenOf(workerPid);
    expect(engines.length).toBeGreaterThan(0);
    expect(await stagedFolders(tf)).toHaveLength(1);

    doomed.child.kill("SIGKILL");
    await doomed.exited;
    // What the job's next attempt does first: it cleans the dead attempt's staging folder.
    for (const folder of await stagedFolders(tf))
      await rm(path.join(tf.outputDir, STAGING_DIR_NAME, folder), { recursive: true, force: true });
    await eventually(
      async () => ((await alive(engines)).length === 0 ? true : undefined),
      5_000,
      "the engines gone",
    );
    expect(await stagedFolders(tf)).toEqual([]);
  }, 60_000);
});
