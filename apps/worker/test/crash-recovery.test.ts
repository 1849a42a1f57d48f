import { readdir } from "node:fs/promises";
import path from "node:path";
import { modelQueueName } from "@wgp-farm/queue";
import { describe, expect, it } from "vitest";
import { WORKER_DEFAULTS } from "../src/worker-options.js";
import {
  publishedFolders,
  readRecords,
  spawnWorkerProcess,
  stagedFolders,
  startWorker,
  t2vTask,
  testFarm,
  waitForJob,
  workerRunningTask,
} from "./support.js";

const T2V = modelQueueName("t2v");

describe("a worker killed with SIGKILL mid-job", () => {
  it("has its job run again on another worker within 15 s, leaving exactly one result", async () => {
    const tf = await testFarm("sigkill");
    // The production lock and stalled settings (defaults), not test-shortened ones.
    const doomed = await workerRunningTask(
      tf,
      t2vTask("survivor", { steps: 30, output_sub_dir: "survivor" }),
      () => spawnWorkerProcess(tf, "doomed-host", [], { FAKE_WANGP_STEP_S: "0.1" }),
      3,
    );
    doomed.child.kill("SIGKILL");
    const killedAt = Date.now();
    await doomed.exited;
    await startWorker(tf, {
      name: "rescue-host",
      lockDurationMs: WORKER_DEFAULTS.lockDurationMs,
      stalledIntervalMs: WORKER_DEFAULTS.stalledIntervalMs,
      env: { FAKE_WANGP_STEP_S: "0.02" },
    });
    const job = await waitForJob(tf, "survivor", T2V, ["completed", "failed"], 40_000);
    expect(await job.getState()).toBe("completed");
    expect(job.processedBy).toBe("gpu0@rescue-host");
    expect(job.stalledCounter).toBe(1);
    // processedOn is when the rescuing slot took the job.
    expect((job.processedOn ?? 0) - killedAt).toBeLessThan(15_000);

    expect(await publishedFolders(tf)).toEqual(["survivor"]);
    expect((await readdir(path.join(tf.outputDir, "survivor"))).sort()).toEqual(
      ["result.json", "survivor.mp4", "task.json"].sort(),
    );
    // The killed attempt's staging folder was removed when the job was taken over.
    expect(await stagedFolders(tf)).toEqual([]);
    const submits = (await readRecords(tf.recordFile)).filter(
      (r) => r.event === "submit" && r.id === "survivor",
    );
    expect(submits).toHaveLength(2);
    const logs = (await tf.farm.queues.byName(job.queueName).getJobLogs("survivor")).logs;
    expect(logs.filter((line) => line.startsWith("attempt "))).toEqual([
      expect.stringMatching(/^attempt 1 on gpu0@doomed-host/),
      expect.stringMatching(/^attempt 2 on gpu0@rescue-host/),
    ]);
  });
});
