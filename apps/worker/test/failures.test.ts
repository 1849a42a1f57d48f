import {
  FarmStats,
  modelQueueName,
  QUARANTINE_QUEUE,
  type QuarantinedJobData,
  SlotRegistry,
  type TaskJobData,
} from "@wgp-farm/queue";
import { Worker } from "bullmq";
import { describe, expect, it } from "vitest";
import { eventually, importTasks, startWorker, t2vTask, testFarm, waitForJob } from "./support.js";

const T2V = modelQueueName("t2v");

describe("failures", () => {
  it("retries an OOM per the policy and keeps each attempt's error", async () => {
    const tf = await testFarm("oom");
    await importTasks(tf, [t2vTask("too-big", { prompt: "a huge crowd [fake:oom]" })], {
      attempts: 3,
      backoffMs: 50,
    });
    await startWorker(tf);
    const job = await waitForJob(tf, "too-big", T2V);
    expect(await job.getState()).toBe("failed");
    expect(job.attemptsMade).toBe(3);
    expect(job.stacktrace).toHaveLength(3);
    for (const stack of job.stacktrace ?? []) expect(stack).toMatch(/^oom: .*unsufficient VRAM/);
    // The raw CUDA error only reaches the stream lines: the job log has them.
    const logs = await tf.farm.queues.byName(T2V).getJobLogs("too-big");
    expect(logs.logs.some((line) => line.includes("OutOfMemoryError"))).toBe(true);
    // Counters and the slot status follow the job's move to failed.
    await eventually(async () => {
      const stats = await new FarmStats(tf.farm.redis, tf.farm.keys).read();
      return stats.retried === 2 && stats.failed === 1 ? true : undefined;
    });
    // WanGP survives an OOM: no engine restart.
    const slot = await eventually(async () => {
      const [status] = await new SlotRegistry(tf.farm.redis, tf.farm.keys).list();
      return status?.jobs_failed === 3 ? status : undefined;
    });
    expect(slot.engine_restarts).toBe(0);
  });

  it("restarts a crashed engine and retries the job; the next job runs on the new engine", async () => {
    const tf = await testFarm("crash");
    await importTasks(tf, [t2vTask("crasher", { prompt: "a storm [fake:crash]" })], {
      attempts: 2,
      backoffMs: 50,
    });
    await startWorker(tf, { quarantineAfter: 10 });
    const job = await waitForJob(tf, "crasher", T2V);
    expect(job.attemptsMade).toBe(2);
    expect((job.stacktrace ?? []).map((stack) => stack.split("\n")[0])).toEqual([
      expect.stringMatching(/^engine crashed: engine exited \(code 70\)/),
      expect.stringMatching(/^engine crashed: engine exited \(code 70\)/),
    ]);
    await importTasks(tf, [t2vTask("after-crash")]);
    expect(await (await waitForJob(tf, "after-crash", T2V)).getState()).toBe("completed");
    const [slot] = await new SlotRegistry(tf.farm.redis, tf.farm.keys).list();
    expect(slot?.engine_restarts).toBe(2);
    expect((await new FarmStats(tf.farm.redis, tf.farm.keys).read()).engine_restarts).toBe(2);
  });

  it("kills and restarts a hung engine and retries the job", async () => {
    const tf = await testFarm("hang");
    await importTasks(tf, [t2vTask("stuck", { prompt: "frozen [fake:hang]" })], {
      attempts: 2,
      backoffMs: 50,
    });
    await startWorker(tf, { hangTimeoutMs: 1_000, quarantineAfter: 10 });
    const job = await waitForJob(tf, "stuck", T2V);
    expect(job.attemptsMade).toBe(2);
    expect(job.failedReason).toMatch(/^hung: no progress for 1000 ms; the engine was killed/);
    const [slot] = await new SlotRegistry(tf.farm.redis, tf.farm.keys).list();
    expect(slot?.engine_restarts).toBeGreaterThanOrEqual(2);
  });

  it("quarantines a task that crashed its engine K times, with its history", async () => {
    const tf = await testFarm("quarantine");
    await importTasks(tf, [t2vTask("poison", { prompt: "poison [fake:crash]" })], {
      attempts: 5,
      backoffMs: 50,
    });
    await startWorker(tf, { quarantineAfter: 2 });
    const job = await waitForJob(tf, "poison", T2V);
    expect(await job.getState()).toBe("failed");
    expect(job.failedReason).toBe(
      "quarantined: the task took down its worker 2 times (2 engine crashes/hangs; threshold 2)",
    );
    expect(job.attemptsMade).toBe(2);
    const quarantined = await tf.farm.queues.byName(QUARANTINE_QUEUE).getJob("poison");
    const data = quarantined?.data as QuarantinedJobData;
    expect(data.task.task_id).toBe("poison");
    expect(data.quarantine).toMatchObject({ from_queue: T2V, stalls: 0, crashes: 2, attempts_started: 2 });
    expect(data.quarantine.attempts.map((attempt) => attempt.outcome)).toEqual(["crashed", "crashed"]);
    expect(data.quarantine.errors[0]).toMatch(/^engine crashed/);
    expect(await tf.farm.redis.hget(tf.farm.keys.taskIndex, "poison")).toBe(QUARANTINE_QUEUE);
    await eventually(async () =>
      (await new FarmStats(tf.farm.redis, tf.farm.keys).read()).quarantined === 1 ? true : undefined,
    );
  });

  it("quarantines a task whose workers keep dying (stalls), when it is next picked up", async () => {
    const tf = await testFarm("stall-quarantine");
    await importTasks(tf, [t2vTask("killer")]);
    // A worker that takes the job and dies: its lock is never renewed.
    const doomed = new Worker<TaskJobData>(T2V, null, {
      connection: tf.farm.redis,
      prefix: tf.prefix,
      name: "doomed",
      lockDuration: 500,
      skipStalledCheck: true,
      autorun: false,
    });
    expect((await doomed.getNextJob("doomed-token", { block: false }))?.id).toBe("killer");
    await doomed.close(true);
    await startWorker(tf, { quarantineAfter: 1 });
    const job = await waitForJob(tf, "killer", T2V);
    expect(job.failedReason).toMatch(/^quarantined: the task took down its worker 1 times \(1 worker stall;/);
    const data = (await tf.farm.queues.byName(QUARANTINE_QUEUE).getJob("killer"))?.data as QuarantinedJobData;
    expect(data.quarantine).toMatchObject({ stalls: 1, crashes: 0 });
  });
});
