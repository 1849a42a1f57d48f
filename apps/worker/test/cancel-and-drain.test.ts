import path from "node:path";
import { cancelTask, FarmConnection, FarmStats, modelQueueName, RedisServerProcess } from "@wgp-farm/queue";
import { temporaryDir } from "@wgp-farm/testing";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import {
  eventually,
  importTasks,
  onCleanup,
  publishedFolders,
  spawnWorkerProcess,
  stagedFolders,
  startWorker,
  t2vTask,
  testFarm,
  untilRunning,
  WGP_FARM_BIN,
  waitForJob,
  workerRunningTask,
} from "./support.js";

const T2V = modelQueueName("t2v");

describe("cancel", () => {
  it("removes a waiting task and leaves a cancel record; `wgp-farm cancel` reports unknown ids", async () => {
    const tf = await testFarm("cancel-waiting");
    await importTasks(tf, [t2vTask("queued-1"), t2vTask("queued-2")]);
    expect(await cancelTask(tf.farm, "queued-1", "changed my mind")).toEqual({
      task_id: "queued-1",
      outcome: "removed",
      state: "prioritized",
    });
    expect(await tf.farm.queues.byName(T2V).getJob("queued-1")).toBeUndefined();
    expect(JSON.parse((await tf.farm.redis.hget(tf.farm.keys.cancelled, "queued-1")) ?? "{}")).toMatchObject({
      task_id: "queued-1",
      queue: T2V,
      reason: "changed my mind",
      state: "prioritized",
      task: { task_id: "queued-1" },
    });
    expect(await cancelTask(tf.farm, "queued-1")).toMatchObject({
      outcome: "already-finished",
      state: "cancelled",
    });

    const cli = await execa(WGP_FARM_BIN, ["cancel", "queued-2", "no-such-task", "--json"], {
      env: { ...process.env, REDIS_URL: tf.redisUrl, WGP_FARM_PREFIX: tf.prefix },
      reject: false,
    });
    expect(cli.exitCode).toBe(1);
    expect(JSON.parse(cli.stdout)).toEqual([
      { task_id: "queued-2", outcome: "removed", state: "prioritized" },
      { task_id: "no-such-task", outcome: "not-found", state: "unknown" },
    ]);
  });

  it("stops a running task at the next step: it ends cancelled, not retried, with nothing staged", async () => {
    const tf = await testFarm("cancel-running");
    await importTasks(tf, [t2vTask("long-one", { steps: 100 }), t2vTask("next-one")]);
    await startWorker(tf, { env: { FAKE_WANGP_STEP_S: "0.05" } });
    await untilRunning(tf, "long-one", T2V);
    expect(await cancelTask(tf.farm, "long-one", "wrong prompt")).toEqual({
      task_id: "long-one",
      outcome: "cancelling",
      state: "active",
    });
    const job = await waitForJob(tf, "long-one", T2V);
    expect(await job.getState()).toBe("failed");
    expect(job.failedReason).toBe("cancelled: wrong prompt (stopped on gpu0@test-host)");
    expect(job.attemptsMade).toBe(1);
    expect((job.progress as { step: number }).step).toBeLessThan(100);
    // The attempt discards its staging after it has failed the job.
    await eventually(
      async () => ((await stagedFolders(tf)).some((name) => name.startsWith("long-one")) ? undefined : true),
      5_000,
      "the cancelled attempt's staging removed",
    );
    expect(await (await waitForJob(tf, "next-one", T2V)).getState()).toBe("completed");
    expect(await publishedFolders(tf)).toEqual(["next-one"]);
    expect((await new FarmStats(tf.farm.redis, tf.farm.keys).read()).cancelled).toBe(1);
    expect(await tf.farm.redis.exists(tf.farm.keys.cancelRequest("long-one"))).toBe(0);
  });
});

describe("SIGTERM", () => {
  it("lets a running job finish within the drain timeout, then exits 0", async () => {
    const tf = await testFarm("drain-finish");
    const worker = await workerRunningTask(tf, t2vTask("finishing", { steps: 20 }), () =>
      spawnWorkerProcess(tf, "drain-a", ["--drain-timeout", "30"], { FAKE_WANGP_STEP_S: "0.05" }),
    );
    worker.child.kill("SIGTERM");
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    const job = await waitForJob(tf, "finishing", T2V, ["completed", "failed"], 1_000);
    expect(await job.getState()).toBe("completed");
  });

  it("puts a job that outlasts the drain timeout back in its queue (not failed), and exits 0", async () => {
    const tf = await testFarm("drain-requeue");
    const worker = await workerRunningTask(tf, t2vTask("too-long", { steps: 200 }), () =>
      spawnWorkerProcess(tf, "drain-b", ["--drain-timeout", "0.5"], { FAKE_WANGP_STEP_S: "0.05" }),
    );
    worker.child.kill("SIGTERM");
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    const job = await tf.farm.queues.byName(T2V).getJob("too-long");
    expect(await job?.getState()).toBe("prioritized");
    expect(job?.attemptsMade).toBe(0);
    expect(job?.failedReason).toBeUndefined();
    expect(worker.output()).toContain("returning running jobs to their queues");
    // It runs to completion on the next worker.
    await startWorker(tf, { env: { FAKE_WANGP_STEP_S: "0" } });
    expect(await (await waitForJob(tf, "too-long", T2V)).getState()).toBe("completed");
  });

  it("exits at once on a second signal", async () => {
    const tf = await testFarm("drain-twice");
    const worker = await workerRunningTask(tf, t2vTask("interrupted", { steps: 200 }), () =>
      spawnWorkerProcess(tf, "drain-c", ["--drain-timeout", "60"], { FAKE_WANGP_STEP_S: "0.05" }),
    );
    worker.child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 200));
    worker.child.kill("SIGTERM");
    expect(await worker.exited).toEqual({ code: 143, signal: null });
    expect(worker.output()).toContain("second signal: exiting now");
  });
});

describe("when Redis goes away", () => {
  it("the worker still stops (every step that needs Redis is bounded)", async () => {
    const { dir, remove } = await temporaryDir("redis-gone");
    onCleanup(remove);
    const redis = await RedisServerProcess.start({ dataDir: path.join(dir, "redis"), persistence: "none" });
    onCleanup(() => redis.stop());
    const tf = { ...(await testFarm("redis-gone")), redisUrl: redis.url };
    const worker = await startWorker(tf);
    await redis.kill();
    // Every step that needs Redis is bounded: the engines stop and the worker returns.
    await worker.stop();
    expect(worker.statuses().map((slot) => slot.state)).toEqual(["stopped"]);
  });

  it("keeps working across a Redis restart", async () => {
    const { dir, remove } = await temporaryDir("redis-restart");
    onCleanup(remove);
    const dataDir = path.join(dir, "redis");
    let redis = await RedisServerProcess.start({ dataDir, persistence: "aof" });
    const { port } = redis;
    onCleanup(() => redis.stop());
    const tf = { ...(await testFarm("redis-restart")), redisUrl: redis.url };
    const farm = await FarmConnection.open(redis.url, tf.prefix, { role: "service" });
    onCleanup(() => farm.close());
    const here = { ...tf, farm };
    await importTasks(here, [t2vTask("before")]);
    await startWorker(here);
    await waitForJob(here, "before", T2V);
    await redis.stop();
    redis = await RedisServerProcess.start({ dataDir, port, persistence: "aof" });
    await importTasks(here, [t2vTask("after")]);
    expect(await (await waitForJob(here, "after", T2V)).getState()).toBe("completed");
  });
});
