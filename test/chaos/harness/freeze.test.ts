/**
 * Freeze: SIGSTOP reaches the worker's Node process only; its engine-py child keeps running while the
 * worker is stopped, and the worker serves again after SIGCONT.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChaosFarm } from "./chaos-farm.ts";
import { waitForAllFinished } from "./farm-watch.ts";
import { freezeWorker, thawWorker } from "./freeze.ts";
import { isAlive, processState } from "./process-tree.ts";
import { WorkerProcess } from "./worker-process.ts";

describe("freezeWorker / thawWorker", () => {
  let chaos: ChaosFarm;
  let worker: WorkerProcess;

  beforeAll(async () => {
    chaos = await ChaosFarm.create("freeze", { persistence: "none" });
    worker = WorkerProcess.spawn(chaos, {
      name: "frozen-host",
      slots: 1,
      engine: "dry-run",
      args: ["--dry-run-duration", "0"],
    });
    await worker.ready;
  });

  afterAll(async () => {
    if (worker?.running) {
      process.kill(worker.pid, "SIGCONT");
      worker.kill("SIGKILL");
      await worker.exited;
    }
    await chaos?.close();
  });

  it("stops the worker's Node process, not its engine, and lets it go on", async () => {
    const [engine] = await worker.engines();
    expect(engine, "the worker has an engine-py process").toBeDefined();
    const enginePid = engine?.pid ?? -1;

    await freezeWorker(worker);
    expect(await processState(worker.pid)).toBe("T");
    await sleep(500);
    expect(isAlive(enginePid)).toBe(true);
    expect(await processState(enginePid)).not.toBe("T");
    expect(await processState(worker.pid), "still frozen").toBe("T");

    await thawWorker(worker);
    expect(await processState(worker.pid)).not.toBe("T");
    expect(worker.running).toBe(true);
    // Serving again: a task imported after the thaw is run by the same worker and engine.
    await chaos.import([{ task_id: "after-thaw", prompt: "a thawed river", model: "t2v", steps: 1 }], {
      attempts: 1,
      backoffMs: 100,
    });
    await waitForAllFinished(chaos, ["t2v"], 1, 20_000);
    expect((await worker.engines()).map((e) => e.pid)).toEqual([enginePid]);
  });
});
