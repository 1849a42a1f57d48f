import { describe, expect, it } from "vitest";
import { backoffDelay, EngineJobError } from "../src/index.js";
import { jobRequest, supervisor, t2v } from "./support.js";

describe("EngineSupervisor", () => {
  it("restarts the engine after the Python process is killed mid-job, then runs the next job", async () => {
    const supervised = await supervisor({
      env: { FAKE_WANGP_STEP_S: "0.05" },
      restartBackoff: { initialMs: 50 },
    });
    const restarts: number[] = [];
    supervised.on("restarting", ({ delayMs }) => restarts.push(delayMs));
    await supervised.start();
    const firstPid = supervised.engine?.pid;

    const job = supervised.generate(await jobRequest(t2v("long", { num_inference_steps: 200 })), {
      onProgress: () => {
        if (firstPid) process.kill(firstPid, "SIGKILL");
      },
    });
    const error = await job.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EngineJobError);
    expect((error as EngineJobError).kind).toBe("crashed");

    const result = await supervised.generate(await jobRequest(t2v("after the restart")));
    expect(result.files).toHaveLength(1);
    expect(supervised.engine?.pid).not.toBe(firstPid);
    expect(restarts).toEqual([50]);
  });

  it("restarts after a hang and after a poisoned CUDA context", async () => {
    const supervised = await supervisor({ hangTimeoutMs: 400, restartBackoff: { initialMs: 20 } });
    await supervised.start();
    for (const prompt of ["[fake:hang] x", "[fake:cuda] x"]) {
      const error = (await supervised
        .generate(await jobRequest(t2v(prompt)))
        .catch((e: unknown) => e)) as EngineJobError;
      expect(error.engineLost).toBe(true);
      expect((await supervised.generate(await jobRequest())).files).toHaveLength(1);
    }
  });

  // Found by the chaos suite: engines killed by hangs and crashes of a few bad tasks grew every later
  // restart delay of their slot toward a minute, though jobs ran fine in between.
  it("starts the restart backoff over once the engine has seen a job through", async () => {
    const supervised = await supervisor({ restartBackoff: { initialMs: 50 } });
    const delays: number[] = [];
    supervised.on("restarting", ({ delayMs }) => delays.push(delayMs));
    const killAndWaitForReady = async () => {
      const ready = new Promise((resolve) => supervised.once("ready", resolve));
      process.kill(supervised.engine?.pid as number, "SIGKILL");
      await ready;
    };
    await supervised.start();
    await killAndWaitForReady();
    await killAndWaitForReady();
    expect(delays).toEqual([50, 100]);
    await supervised.generate(await jobRequest());
    await killAndWaitForReady();
    expect(delays).toEqual([50, 100, 50]);
  });

  it("gives up after repeated start failures", async () => {
    const supervised = await supervisor({
      env: { FAKE_WANGP_INIT_FAULT: "mmgp" },
      maxStartAttempts: 2,
      restartBackoff: { initialMs: 10 },
    });
    let gaveUp = false;
    supervised.on("gave-up", () => {
      gaveUp = true;
    });
    await expect(supervised.start()).rejects.toThrow("SystemExit");
    expect(gaveUp).toBe(true);
  });
});

describe("backoffDelay", () => {
  it("doubles from the initial delay up to the cap", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000,
    ]);
    expect(backoffDelay(3, { initialMs: 100, factor: 3, maxMs: 500 })).toBe(500);
  });
});
