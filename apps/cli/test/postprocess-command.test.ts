import { FarmConnection } from "@wgp-farm/queue";
import { importTestTasks, startTestWorker, testManifest, uniquePrefix, waitUntil } from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { runCli } from "./run-cli.js";

let prefix: string;
let farm: FarmConnection;
const farmArgs = () => ["--redis-url", inject("redisUrl"), "--prefix", prefix];

beforeEach(async () => {
  prefix = uniquePrefix("cli-post");
  farm = await FarmConnection.open(inject("redisUrl"), prefix);
});
afterEach(async () => {
  await farm.close();
});

describe("wgp-farm postprocess", () => {
  it("adds a chain of post-steps to a completed task, refuses unfinished tasks with what to do", async () => {
    await importTestTasks(farm, [{ task_id: "old" }, { task_id: "pending" }], { attempts: 1, backoffMs: 0 });
    const worker = await startTestWorker(farm, "model.t2v", async (job) =>
      job.id === "old"
        ? testManifest(job, { queue_wait_s: 0, model_load_s: 0, generation_s: 1 })
        : new Promise(() => {}),
    );
    const queue = farm.queues.forModel("t2v");
    await waitUntil(async () => (await queue.getCompletedCount()) === 1);

    const queued = await runCli([
      "postprocess",
      "old",
      "--upscale",
      "lanczos2",
      "--interpolate",
      "rife2",
      ...farmArgs(),
    ]);
    expect(queued.stderr).toBe("");
    expect(queued.code).toBe(0);
    expect(queued.stdout).toBe("queued       old--then-1-upscale → old--then-2-interpolate\n");
    const upscale = await farm.queues.byName("model.post.upscale").getJob("old--then-1-upscale");
    expect(await upscale?.getState()).toBe("prioritized");
    expect(upscale?.data).toMatchObject({ source: { task_id: "old" }, output_sub_dir: "old/then-1-upscale" });
    expect(await farm.queues.byName("model.post.interpolate").getJobState("old--then-2-interpolate")).toBe(
      "waiting-children",
    );
    expect(await farm.queues.knownModels()).toEqual(
      expect.arrayContaining(["post.upscale", "post.interpolate"]),
    );

    const busy = await runCli(["postprocess", "old", "--film-grain", "0.1", ...farmArgs()]);
    expect(busy.code).toBe(1);
    expect(busy.stdout).toContain("its post-step old--then-2-interpolate is waiting-children");

    const unfinished = await runCli(["postprocess", "pending", "--upscale", "lanczos2", ...farmArgs()]);
    expect(unfinished.code).toBe(1);
    expect(unfinished.stdout).toMatch(
      /not queued {3}pending: the task is (active|waiting), not completed: wait until it completes/,
    );

    const bad = await runCli(["postprocess", "old", "--interpolate", "rife3", ...farmArgs()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--interpolate: must be a WanGP temporal upsampler: rife2, rife4");

    const none = await runCli(["postprocess", "ghost", "--upscale", "lanczos2", ...farmArgs()]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("unknown task id: ghost");
    await worker.close(true);
  });
});
