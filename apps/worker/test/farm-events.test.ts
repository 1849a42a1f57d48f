import { FarmEvents, modelQueueName } from "@wgp-farm/queue";
import { describe, expect, it } from "vitest";
import { importTasks, startWorker, t2vTask, testFarm, waitForJob } from "./support.js";

describe("farm events from a real worker run", () => {
  it("logs queued → started → phase/progress … → completed, each with task, model, slot and host", async () => {
    const tf = await testFarm("events");
    await importTasks(tf, [t2vTask("ev-1", { steps: 4 })]);
    await startWorker(tf, { env: { FAKE_WANGP_STEP_S: "0.4" } });
    await waitForJob(tf, "ev-1", modelQueueName("t2v"));
    const log = new FarmEvents(tf.farm.redis, tf.farm.keys);
    // The completion is written right after the job moves; give it its round trip.
    let events = await log.after("0-0", 1000);
    for (let i = 0; i < 40 && events.at(-1)?.type !== "completed"; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      events = await log.after("0-0", 1000);
    }
    const types = events.map((event) => event.type);
    expect(types[0]).toBe("queued");
    expect(types[1]).toBe("started");
    expect(types.at(-1)).toBe("completed");
    expect(types).toContain("progress");
    expect(types.filter((type) => type === "queued" || type === "started" || type === "completed")).toEqual([
      "queued",
      "started",
      "completed",
    ]);
    const running = events.slice(1);
    for (const event of running) {
      expect(event).toMatchObject({
        task_id: "ev-1",
        model: "t2v",
        slot: expect.stringContaining("test-host"),
      });
      expect(event.host).toBeTruthy();
    }
    const percents = events
      .filter((event) => event.type === "progress")
      .map((event) => event.data.percent as number);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    // Throttled: at most one progress event a second (the run takes ~1.6 s of steps).
    expect(percents.length).toBeLessThanOrEqual(4);
    const completed = events.at(-1);
    expect(completed?.state).toBe("completed");
    expect(completed?.data).toMatchObject({ main_file: expect.any(String), seed: expect.any(Number) });
    // Entry ids are the order of the log.
    expect(events.map((event) => event.id)).toEqual(events.map((event) => event.id).sort());
  }, 60_000);

  it("logs a retried failure as waiting, then the final failure, each after its start", async () => {
    const tf = await testFarm("events-fail");
    await importTasks(tf, [t2vTask("ev-bad", { steps: 2 })], { attempts: 2, backoffMs: 50 });
    await startWorker(tf, { env: { FAKE_WANGP_FAULT: "oom" } });
    await waitForJob(tf, "ev-bad", modelQueueName("t2v"), ["failed"]);
    const log = new FarmEvents(tf.farm.redis, tf.farm.keys);
    let events = await log.after("0-0", 1000);
    for (let i = 0; i < 40 && events.filter((event) => event.type === "failed").length < 2; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      events = await log.after("0-0", 1000);
    }
    const story = events
      .filter((event) => event.type !== "phase" && event.type !== "progress")
      .map((event) => `${event.type}:${event.state}`);
    expect(story).toEqual([
      "queued:waiting",
      "started:active",
      "failed:waiting",
      "started:active",
      "failed:failed",
    ]);
    expect(events.filter((event) => event.type === "failed").map((event) => event.data.retrying)).toEqual([
      true,
      false,
    ]);
  }, 60_000);
});
