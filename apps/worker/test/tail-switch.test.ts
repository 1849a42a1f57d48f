import { ModelBacklog, modelQueueName, SlotRegistry, type TaskJobData } from "@wgp-farm/queue";
import { testSlotStatus } from "@wgp-farm/testing";
import { Worker } from "bullmq";
import { describe, expect, it } from "vitest";
import { JobScheduler } from "../src/scheduling/job-scheduler.js";
import {
  eventually,
  importTasks,
  onCleanup,
  startWorker,
  type TestFarm,
  t2vTask,
  testFarm,
  waitForJob,
} from "./support.js";

const MODELS = ["t2v", "vace_14B"];

/**
 * A farm where one slot on vace_14B has just begun one of its jobs and has two more waiting (two
 * jobs per slot: `--switch-backlog-per-slot` 2 leaves them to it), the model's typical times `times`.
 */
async function vaceTail(label: string, times: { loadMs: number; generationMs: number }): Promise<TestFarm> {
  const tf = await testFarm(label);
  await tf.farm.queues.registerModels(MODELS);
  await new SlotRegistry(tf.farm.redis, tf.farm.keys).publish(
    testSlotStatus("gpu0@holder", { state: "busy", loaded_model: "vace_14B" }),
  );
  await importTasks(
    tf,
    ["tail-0", "tail-1", "tail-2"].map((id) => t2vTask(id, { model: "vace_14B" })),
  );
  const holder = new Worker<TaskJobData>(modelQueueName("vace_14B"), null, {
    connection: tf.farm.redis,
    prefix: tf.prefix,
    skipStalledCheck: true,
    autorun: false,
  });
  onCleanup(() => holder.close(true));
  expect((await holder.getNextJob("holder-token", { block: false }))?.id).toBe("tail-0");
  await new ModelBacklog(tf.farm.redis, tf.farm.keys).recordJob("vace_14B", times);
  return tf;
}

/** A slot that holds t2v, whose queue is empty, decides what to do next. */
function idleT2vSlotDecides(tf: TestFarm, slotId = "gpu0@idle") {
  const scheduler = new JobScheduler(tf.farm.redis, tf.farm.keys, {
    policy: "affinity",
    maxWaitMs: 600_000,
    backlogPerSlot: 2,
  });
  return scheduler.next(slotId, "t2v", MODELS);
}

describe("an idle slot and another model's tail", () => {
  it("leaves the tail to the slot holding the model when the model's load is long (minutes)", async () => {
    const tf = await vaceTail("tail-long-load", { loadMs: 120_000, generationMs: 60_000 });
    expect(await idleT2vSlotDecides(tf)).toMatchObject({ kind: "idle" });
    expect(await tf.farm.redis.zcard(tf.farm.keys.switchClaims("vace_14B"))).toBe(0);
  });

  it("switches to take the tail's jobs when the load is short next to the work the holder has left", async () => {
    const tf = await vaceTail("tail-short-load", { loadMs: 300, generationMs: 2_000 });
    expect(await idleT2vSlotDecides(tf)).toEqual({
      kind: "take",
      model: "vace_14B",
      queue: modelQueueName("vace_14B"),
      switching: true,
      claimed: true,
      why: "tail",
    });
    // The holder would still run the other waiting job after its own: a second slot takes it.
    expect(await idleT2vSlotDecides(tf, "gpu1@idle")).toMatchObject({ kind: "take", claimed: true });
    // Each waiting job has its slot now: a third stays idle.
    expect(await idleT2vSlotDecides(tf, "gpu2@idle")).toMatchObject({ kind: "idle" });
  });

  it("learns each model's load and job time from the jobs its slots complete", async () => {
    const tf = await testFarm("tail-times");
    await importTasks(tf, [t2vTask("timed-1", { steps: 4 }), t2vTask("timed-2", { steps: 4 })]);
    await startWorker(tf, { env: { FAKE_WANGP_LOAD_S: "0.4", FAKE_WANGP_STEP_S: "0.05" } });
    for (const id of ["timed-1", "timed-2"]) await waitForJob(tf, id, modelQueueName("t2v"));
    const backlog = new ModelBacklog(tf.farm.redis, tf.farm.keys);
    // Written just after each job's move to completed.
    const t2v = await eventually(async () => {
      const [entry] = await backlog.read(["t2v"]);
      return entry?.loadMs !== null && entry?.jobMs !== null ? entry : undefined;
    });
    // One load (the first job), two generations of 4 steps of 50 ms; the engine's own measures.
    expect(t2v?.loadMs).toBeGreaterThanOrEqual(400);
    expect(t2v?.loadMs).toBeLessThan(2_000);
    expect(t2v?.jobMs).toBeGreaterThanOrEqual(200);
    expect(t2v?.jobMs).toBeLessThan(2_000);
    // One record for the farm, two fields per model: it does not grow with the jobs.
    expect(await tf.farm.redis.hlen(tf.farm.keys.modelTimings)).toBe(2);
  });
});
