import { type JobProgress, modelQueueName } from "@wgp-farm/queue";
import { describe, expect, it } from "vitest";
import { importTasks, startWorker, t2vTask, testFarm, waitForJob } from "./support.js";

describe("a long job's progress", () => {
  it("shows the sliding window n/N, one percent and an ETA that only move forward", async () => {
    const tf = await testFarm("progress-windows");
    // 41 frames in windows of 17 (overlap 5): 3 windows.
    await importTasks(tf, [t2vTask("long", { frames: 41, sliding_window_size: 17, steps: 4 })]);
    await startWorker(tf, { env: { FAKE_WANGP_STEP_S: "0.15" } });
    const queue = tf.farm.queues.byName(modelQueueName("t2v"));
    const seen: JobProgress[] = [];
    for (;;) {
      const job = await queue.getJob("long");
      const progress = job?.progress as JobProgress | number | undefined;
      if (typeof progress === "object" && progress !== null) seen.push(progress);
      const state = await queue.getJobState("long");
      if (state === "completed" || state === "failed") break;
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    expect((await waitForJob(tf, "long", modelQueueName("t2v"))).failedReason ?? "ok").toBe("ok");
    const windowed = seen.filter((p) => p.window !== undefined);
    const firstOfThree = windowed.findIndex((p) => p.windows === 3);
    expect(firstOfThree).toBeGreaterThanOrEqual(0);
    // Before the first window's text, the engine says 1/1; from then on the count holds.
    expect(windowed.slice(firstOfThree).every((p) => p.windows === 3)).toBe(true);
    expect(windowed.some((p) => p.window === 2 && p.windows === 3)).toBe(true);
    const engine = seen.filter(
      (p) => p.phase !== "queued" && p.phase !== "preparing" && p.phase !== "publishing",
    );
    const percents = engine.map((p) => p.percent).filter((p): p is number => p !== null);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    const etas = engine.map((p) => p.eta_s).filter((eta): eta is number => eta !== null);
    expect(etas.length).toBeGreaterThan(1);
    expect(etas).toEqual([...etas].sort((a, b) => b - a));
  });
});
