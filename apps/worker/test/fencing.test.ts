import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import path from "node:path";
import { FarmStats, modelQueueName, PublishClaims } from "@wgp-farm/queue";
import { Job, Queue } from "bullmq";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { AttemptHistory } from "../src/job/attempt-history.js";
import { LockRenewal } from "../src/job/lock-renewal.js";
import {
  eventually,
  lostAttemptOf,
  onCleanup,
  publishedFolders,
  silent,
  stagedFolders,
  startWorker,
  t2vTask,
  takeLockAsAnotherAttempt,
  testFarm,
  workerRunningTask,
} from "./support.js";

const T2V = modelQueueName("t2v");

/** A TCP server that accepts connections and never answers a byte: a Redis behind a black hole. */
async function silentServer(): Promise<{ port: number; server: Server }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onCleanup(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no port");
  return { port: address.port, server };
}

/** A job whose queue talks to a Redis that never answers. */
async function jobBehindSilentRedis(): Promise<Job> {
  const { port } = await silentServer();
  const connection = new Redis({
    port,
    host: "127.0.0.1",
    maxRetriesPerRequest: null,
    enableReadyCheck: false,
  });
  const queue = new Queue(T2V, { connection });
  onCleanup(async () => {
    connection.disconnect();
    await queue.close().catch(() => undefined);
  });
  return new Job(queue, "task", {}, {}, "silent-1");
}

describe("lock renewal", () => {
  it("declares the lock lost a lock duration after the last renewal, though Redis never answers", async () => {
    const job = await jobBehindSilentRedis();
    const lost = Promise.withResolvers<string>();
    const startedAt = performance.now();
    const renewal = new LockRenewal(job, "token", {
      lockDurationMs: 800,
      renewEveryMs: 200,
      onLost: (why) => lost.resolve(why),
    }).start();
    onCleanup(async () => renewal.stop());
    expect(renewal.holdsLock()).toBe(true);

    const why = await lost.promise;
    const elapsed = performance.now() - startedAt;
    expect(why).toMatch(/could not be renewed for 800 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(790);
    expect(elapsed).toBeLessThan(800 + 700);
    expect(renewal.holdsLock()).toBe(false);
  });

  it("knows the lock is stale right after a freeze, before any timer has run", async () => {
    const job = await jobBehindSilentRedis();
    let lostCalls = 0;
    const renewal = new LockRenewal(job, "token", {
      lockDurationMs: 300,
      renewEveryMs: 100,
      onLost: () => {
        lostCalls += 1;
      },
    }).start();
    onCleanup(async () => renewal.stop());
    // The event loop stands still like a SIGSTOPped process: no timer runs meanwhile.
    const frozenUntil = performance.now() + 500;
    while (performance.now() < frozenUntil) {
      // frozen
    }
    expect(lostCalls).toBe(0);
    expect(renewal.holdsLock()).toBe(false);
    expect(renewal.remainingMs()).toBe(0);
  });
});

describe("the attempt history of a task with a lost attempt", () => {
  it("keeps the lost mark when the attempt holding the job records its own end, and adds nothing once the task is gone", async () => {
    const tf = await testFarm("fence-history");
    const history = new AttemptHistory(tf.farm.redis, tf.farm.keys, silent);
    const first = await history.begin("h-1", "gpu0@frozen", []);
    const second = await history.begin("h-1", "gpu0@rescue", first);
    const stale = first.at(-1);
    if (!stale) throw new Error("no attempt recorded");

    await history.lost("h-1", stale, "the publish claim was refused");
    // The rescuing attempt still holds its own copy, where the first attempt is only `stalled`.
    await history.end("h-1", second, "failed", "engine error: boom");

    expect(
      (await history.read("h-1")).map((record) => [record.slot, record.outcome, record.message]),
    ).toEqual([
      ["gpu0@frozen", "lost", "lost to another attempt: the publish claim was refused"],
      ["gpu0@rescue", "failed", "engine error: boom"],
    ]);
    await history.forget("h-1");
    await history.lost("h-1", stale, "late");
    expect(await tf.farm.redis.hexists(tf.farm.keys.attemptHistory, "h-1")).toBe(0);
  });
});

describe("an attempt whose lock another attempt took before it published", () => {
  it("publishes nothing, leaves the job alone, discards its staging and records the lost attempt", async () => {
    const tf = await testFarm("fence-stolen");
    // What the other attempt published is already in place; the stale one must not replace it.
    const published = path.join(tf.outputDir, "stolen");
    await mkdir(published, { recursive: true });
    await writeFile(path.join(published, "result.json"), `${JSON.stringify({ attempt: 2 })}\n`);
    // The renewal comes too late to notice: the publish claim is what stops the stale attempt.
    await workerRunningTask(
      tf,
      t2vTask("stolen", { steps: 12, output_sub_dir: "stolen" }),
      () =>
        startWorker(tf, { lockDurationMs: 20_000, lockRenewMs: 15_000, env: { FAKE_WANGP_STEP_S: "0.1" } }),
      2,
    );
    const lockKey = await takeLockAsAnotherAttempt(tf, T2V, "stolen");

    const lost = await lostAttemptOf(tf, "stolen");

    expect(lost).toMatchObject({ attempt: 1, slot: "gpu0@test-host" });
    expect(lost.why).toMatch(/publish claim was refused/);
    expect(lost.gpu_ms).toBeGreaterThan(500);
    expect(JSON.parse(await readFile(path.join(published, "result.json"), "utf8"))).toEqual({ attempt: 2 });
    expect(await readdir(published)).toEqual(["result.json"]);
    await eventually(
      async () => ((await stagedFolders(tf)).length === 0 ? true : undefined),
      5_000,
      "the staging folder removed",
    );
    // Neither completed nor failed by the stale attempt: the job is the other attempt's.
    expect(await tf.farm.queues.byName(T2V).getJobState("stolen")).toBe("active");
    expect(await tf.farm.redis.get(lockKey)).toBe("the-other-attempt");
    expect(await new PublishClaims(tf.farm.redis, tf.farm.keys).read("stolen")).toBeNull();
    const history = await new AttemptHistory(tf.farm.redis, tf.farm.keys, silent).read("stolen");
    expect(history.at(-1)).toMatchObject({ outcome: "lost", slot: "gpu0@test-host" });
    expect(history.at(-1)?.message).toMatch(/^lost to another attempt: /);
    const counters = await new FarmStats(tf.farm.redis, tf.farm.keys).read();
    expect(counters.lost_attempts).toBe(1);
    expect(counters.wasted_gpu_ms).toBe(lost.gpu_ms);
    expect(counters.completed + counters.failed).toBe(0);
  });

  it("stops its engine job within the lock duration once the lock cannot be renewed", async () => {
    const tf = await testFarm("fence-renewal");
    await workerRunningTask(
      tf,
      t2vTask("taken", { steps: 200, output_sub_dir: "taken" }),
      () => startWorker(tf, { lockDurationMs: 2_000, lockRenewMs: 500, env: { FAKE_WANGP_STEP_S: "0.1" } }),
      2,
    );
    const takenAt = Date.now();
    await takeLockAsAnotherAttempt(tf, T2V, "taken");

    const lost = await lostAttemptOf(tf, "taken");
    expect(lost.why).toMatch(/taken over/);
    // Found out at the next renewal, stopped at the engine's next step (well before its 20 s job).
    expect(Date.parse(lost.lost_at ?? "") - takenAt).toBeLessThan(2_000 + 1_500);
    expect(await publishedFolders(tf)).toEqual([]);
  });
});
