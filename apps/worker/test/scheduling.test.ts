import { idleRosterKey, modelQueueName, SlotRegistry } from "@wgp-farm/queue";
import { describe, expect, it } from "vitest";
import {
  eventually,
  importTasks,
  onCleanup,
  readRecords,
  startWorker,
  t2vTask,
  testFarm,
  waitForJob,
} from "./support.js";

const MODELS = ["t2v", "t2v_1.3B", "vace_14B"] as const;

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

async function slotsUp(registry: SlotRegistry, count: number): Promise<void> {
  await eventually(
    async () => ((await registry.list()).length === count ? true : undefined),
    10_000,
    `${count} slots`,
  );
}

describe("scheduling across model queues", () => {
  it("keeps each slot on a model: mixed tasks on 3 slots load each model about once", async () => {
    const tf = await testFarm("affinity");
    // Interleaved in the tasks file: plain FIFO would reload a model for almost every task.
    const tasks = Array.from({ length: 24 }, (_, i) =>
      t2vTask(`mixed-${i}`, { model: MODELS[i % MODELS.length] }),
    );
    await importTasks(tf, tasks);
    await startWorker(tf, { slots: 3, env: { FAKE_WANGP_LOAD_S: "0.3", FAKE_WANGP_STEP_S: "0.02" } });
    for (const task of tasks) {
      const job = await waitForJob(tf, String(task.task_id), modelQueueName(String(task.model)));
      expect(await job.getState()).toBe("completed");
    }
    const records = await readRecords(tf.recordFile);
    const loads = records.filter((record) => record.event === "load");
    const submits = records.filter((record) => record.event === "submit");
    expect(submits).toHaveLength(24);
    expect(new Set(loads.map((load) => load.model_type))).toEqual(new Set(MODELS));
    // One load per slot, plus at most a helper switch or two as queues run dry at different times.
    expect(loads.length).toBeLessThanOrEqual(5);
  });

  it("honours priorities within a queue", async () => {
    const tf = await testFarm("priority");
    await importTasks(tf, [
      t2vTask("later-1", { priority: 100 }),
      t2vTask("later-2", { priority: 100 }),
      t2vTask("urgent", { priority: 1 }),
    ]);
    await startWorker(tf);
    await waitForJob(tf, "later-2", modelQueueName("t2v"));
    await waitForJob(tf, "later-1", modelQueueName("t2v"));
    const order = (await readRecords(tf.recordFile)).filter((r) => r.event === "submit").map((r) => r.id);
    expect(order).toEqual(["urgent", "later-1", "later-2"]);
  });

  it("switches a busy slot to a job that waited past the bound", async () => {
    const tf = await testFarm("bound");
    await importTasks(
      tf,
      Array.from({ length: 12 }, (_, i) => t2vTask(`long-${i}`, { steps: 5 })),
    );
    await startWorker(tf, { maxWaitMs: 1_000, env: { FAKE_WANGP_STEP_S: "0.06" } });
    await eventually(async () =>
      (await readRecords(tf.recordFile)).some((r) => r.event === "submit") ? true : undefined,
    );
    await importTasks(tf, [t2vTask("rare", { model: "vace_14B" })]);
    const rare = await waitForJob(tf, "rare", modelQueueName("vace_14B"));
    expect(await rare.getState()).toBe("completed");
    // Read the order only once every job has run: right after "rare" completes it may still be
    // the last submit on record, because the next t2v job has not been sent yet.
    for (let i = 0; i < 12; i += 1) await waitForJob(tf, `long-${i}`, modelQueueName("t2v"));
    const order = (await readRecords(tf.recordFile)).filter((r) => r.event === "submit").map((r) => r.id);
    expect(order).toHaveLength(13);
    // Affinity alone would run all twelve t2v jobs (about 4 s) first; the 1 s bound cuts in.
    expect(order.indexOf("rare")).toBeLessThan(11);
  });

  it("does not send two idle slots to a backlog one slot clears", async () => {
    const tf = await testFarm("claims");
    await startWorker(tf, { slots: 2, env: { FAKE_WANGP_STEP_S: "0.2" } });
    const registry = new SlotRegistry(tf.farm.redis, tf.farm.keys);
    await slotsUp(registry, 2);
    await importTasks(tf, [t2vTask("one", { model: "vace_14B" })]);
    await eventually(async () =>
      (await readRecords(tf.recordFile)).some((r) => r.event === "submit") ? true : undefined,
    );
    await importTasks(tf, [t2vTask("two", { model: "vace_14B" })]);
    await waitForJob(tf, "two", modelQueueName("vace_14B"));
    const records = await readRecords(tf.recordFile);
    expect(records.filter((r) => r.event === "load")).toHaveLength(1);
    // The slots publish their counters just after the job's move to completed.
    const slots = await eventually(async () => {
      const list = await registry.list();
      return list.some((slot) => slot.jobs_done === 2) ? list : undefined;
    });
    expect(slots.map((slot) => slot.loaded_model).sort()).toEqual(["vace_14B", null].sort());
    expect(slots.map((slot) => slot.jobs_done).sort()).toEqual([0, 2]);
  });

  it("runs two workers on one Redis without running any task twice", async () => {
    const tf = await testFarm("two-workers");
    const tasks = Array.from({ length: 8 }, (_, i) => t2vTask(`shared-${i}`));
    const env = { FAKE_WANGP_STEP_S: "0.05" };
    await Promise.all([startWorker(tf, { name: "host-a", env }), startWorker(tf, { name: "host-b", env })]);
    const registry = new SlotRegistry(tf.farm.redis, tf.farm.keys);
    // Both slots up before any task exists, so that neither can clear the list before the other starts.
    await slotsUp(registry, 2);
    await importTasks(tf, tasks);
    const jobs = await Promise.all(
      tasks.map((task) => waitForJob(tf, String(task.task_id), modelQueueName("t2v"))),
    );
    expect(jobs.every((job) => job.finishedOn && job.returnvalue?.status === "completed")).toBe(true);
    const byWorker = countBy(jobs, (job) => String(job.processedBy));
    expect(Object.keys(byWorker).sort()).toEqual(["gpu0@host-a", "gpu0@host-b"]);
    const submits = (await readRecords(tf.recordFile)).filter((r) => r.event === "submit");
    expect(countBy(submits, (r) => String(r.id))).toEqual(
      Object.fromEntries(tasks.map((t) => [t.task_id, 1])),
    );
    const slots = await registry.list();
    expect(slots.map((slot) => slot.slot_id)).toEqual(["gpu0@host-a", "gpu0@host-b"]);
  });

  it("decides on the arriving model's queue alone when that work woke the slot", async () => {
    const tf = await testFarm("woken-for");
    await tf.farm.queues.registerModels(MODELS);
    await startWorker(tf);
    await eventually(async () =>
      (await tf.farm.redis.zcard(idleRosterKey(tf.farm.keys))) === 1 ? true : undefined,
    );
    // The backlog script's keys: 7 per model read, then the models' timings and the slot index.
    const backlogReads: string[][] = [];
    const monitor = await tf.farm.redis.duplicate().monitor();
    onCleanup(async () => monitor.disconnect());
    monitor.on("monitor", (_time: string, args: string[]) => {
      if (
        args[0]?.toLowerCase() === "evalsha" &&
        args.at(-1) !== undefined &&
        args.includes(tf.farm.keys.modelTimings)
      )
        backlogReads.push(args.slice(3, 3 + Number(args[2])));
    });
    await importTasks(tf, [t2vTask("arrival", { model: "vace_14B" })]);
    const job = await waitForJob(tf, "arrival", modelQueueName("vace_14B"));
    expect(job.returnvalue?.status).toBe("completed");
    const vaceWait = tf.farm.keys.queueKeys(modelQueueName("vace_14B")).wait as string;
    expect(backlogReads.find((keys) => keys.length === 9)?.[0]).toBe(vaceWait);
    // Deciding again after the job (and on any nudge) reads every queue.
    expect(backlogReads.some((keys) => keys.length === 7 * MODELS.length + 2)).toBe(true);
  });
});
