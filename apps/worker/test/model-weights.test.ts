import { cancelTask, modelQueueName } from "@wgp-farm/queue";
import { describe, expect, it } from "vitest";
import {
  copyOfFakeWangp,
  eventually,
  importTasks,
  readRecords,
  startWorker,
  type TestFarm,
  t2vTask,
  testFarm,
  waitForJob,
} from "./support.js";

const LOAD_S = 1.5;
const TASKS = ["a", "b", "c", "d", "e", "f"];

/** Two slots on the tasks, with a WanGP that takes `loadS` to load and lacks the weights of `missing`. */
async function startTwoSlots(tf: TestFarm, loadS: number, missing: string): Promise<void> {
  const wangpRoot = await copyOfFakeWangp(tf.dir);
  // Enough slow work that the scheduler sends both slots to the model.
  await importTasks(
    tf,
    TASKS.map((id) => t2vTask(id)),
  );
  await startWorker(tf, {
    wangpRoot,
    slots: 2,
    env: { FAKE_WANGP_LOAD_S: String(loadS), FAKE_WANGP_STEP_S: "0.2", FAKE_WANGP_MISSING_MODELS: missing },
  });
}

async function loadTimes(tf: TestFarm, missing: string): Promise<number[]> {
  await startTwoSlots(tf, LOAD_S, missing);
  for (const id of ["a", "b"])
    expect((await waitForJob(tf, id, modelQueueName("t2v"))).returnvalue).toBeTruthy();
  return (await readRecords(tf.recordFile))
    .filter((r) => r.event === "load")
    .map((r) => r.t)
    .sort();
}

describe("a model's weights", () => {
  it("are fetched by one slot of the host while the others wait, when WanGP says they are missing", async () => {
    const tf = await testFarm("weights-missing");
    const [first, second] = await loadTimes(tf, "t2v");
    expect((second as number) - (first as number)).toBeGreaterThanOrEqual(LOAD_S);
    const queue = tf.farm.queues.byName(modelQueueName("t2v"));
    const lines = (await Promise.all(TASKS.map((id) => queue.getJobLogs(id))))
      .flatMap((l) => l.logs)
      .join("\n");
    expect(lines).toContain("weights of t2v missing on this host: this slot fetches them, the others wait");
    expect(lines).toContain(
      "weights of t2v missing on this host: waiting for downloading the weights of t2v",
    );
  });

  it("are loaded by every slot at once when they are on disk", async () => {
    const tf = await testFarm("weights-present");
    const [first, second] = await loadTimes(tf, "");
    expect((second as number) - (first as number)).toBeLessThan(LOAD_S);
  });

  it("stop the wait of a slot whose job is cancelled meanwhile", async () => {
    const tf = await testFarm("weights-cancel");
    await startTwoSlots(tf, 8, "t2v");
    const queue = tf.farm.queues.byName(modelQueueName("t2v"));
    const waiting = await eventually(async () => {
      for (const id of TASKS) {
        const { logs } = await queue.getJobLogs(id);
        if (logs.some((line) => line.includes("missing on this host: waiting for"))) return id;
      }
      return undefined;
    });
    const cancelledAt = Date.now();
    await cancelTask(tf.farm, waiting, "not needed");
    await eventually(async () => ((await queue.getJobState(waiting)) === "active" ? undefined : true));
    // Well before the other slot's 8 s load is over.
    expect(Date.now() - cancelledAt).toBeLessThan(5_000);
  });
});
