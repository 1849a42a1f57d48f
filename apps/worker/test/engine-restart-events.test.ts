import { type FarmEvent, FarmEvents, modelQueueName } from "@wgp-farm/queue";
import { describe, expect, it } from "vitest";
import {
  eventually,
  importTasks,
  readRecords,
  startWorker,
  type TestFarm,
  t2vTask,
  testFarm,
  waitForJob,
} from "./support.js";

const T2V = modelQueueName("t2v");

/** The pids of the engines started so far, from the WanGP double's `init` records. */
async function enginePids(tf: TestFarm): Promise<number[]> {
  const records = await readRecords(tf.recordFile);
  return records.flatMap((record) =>
    record.event === "init" ? [(record as { pid?: number }).pid ?? -1] : [],
  );
}

/** The `engine_restart` events of the log once the last one has `step`. */
function engineEventsUntil(tf: TestFarm, step: string): Promise<FarmEvent[]> {
  const log = new FarmEvents(tf.farm.redis, tf.farm.keys);
  return eventually(
    async () => {
      const events = (await log.after("0-0", 1000)).filter((event) => event.type === "engine_restart");
      return events.at(-1)?.data.step === step ? events : undefined;
    },
    30_000,
    `an engine_restart '${step}' event`,
  );
}

describe("engine restarts in the farm event log", () => {
  it("records a killed engine restarting and ready again, on its slot, and the slot works on", async () => {
    const tf = await testFarm("engine-kill");
    const worker = await startWorker(tf);
    const [first] = await eventually(async () => {
      const pids = await enginePids(tf);
      return pids.length > 0 ? pids : undefined;
    });
    process.kill(first as number, "SIGKILL");
    const events = await engineEventsUntil(tf, "ready");
    expect(events.map((event) => event.data.step)).toEqual(["restarting", "ready"]);
    for (const event of events) {
      // Between tasks: the event names no task.
      expect(event).toMatchObject({
        slot: worker.slotIds[0],
        host: "test-host",
        task_id: "",
        state: "active",
      });
    }
    expect(events[0]?.data).toMatchObject({ attempt: 1, delay_ms: expect.any(Number) });
    expect(await enginePids(tf)).toHaveLength(2);
    await importTasks(tf, [t2vTask("after-kill")]);
    expect(await (await waitForJob(tf, "after-kill", T2V)).getState()).toBe("completed");
  }, 60_000);

  it("records an engine crashing under a task with that task, and a recycle between tasks", async () => {
    const tf = await testFarm("engine-recycle");
    await importTasks(tf, [t2vTask("crasher", { prompt: "a storm [fake:crash]" })], {
      attempts: 1,
      backoffMs: 50,
    });
    const worker = await startWorker(tf, { quarantineAfter: 10, recycleAfterJobs: 1 });
    await waitForJob(tf, "crasher", T2V);
    const crash = await engineEventsUntil(tf, "ready");
    expect(crash.map((event) => [event.data.step, event.task_id, event.model])).toEqual([
      ["restarting", "crasher", "t2v"],
      ["ready", "", ""],
    ]);
    await importTasks(tf, [t2vTask("recycled-after")]);
    await waitForJob(tf, "recycled-after", T2V);
    const all = await eventually(async () => {
      const events = await engineEventsUntil(tf, "ready");
      return events.length === 4 ? events : undefined;
    });
    expect(all.slice(2).map((event) => [event.data.step, event.data.reason ?? null])).toEqual([
      ["recycling", "job count"],
      ["ready", null],
    ]);
    expect(all.every((event) => event.slot === worker.slotIds[0])).toBe(true);
  }, 60_000);
});
