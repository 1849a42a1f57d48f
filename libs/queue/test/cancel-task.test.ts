import {
  CancelChannel,
  cancelTask,
  FarmConnection,
  readCancelledRecord,
  readCancelledRecords,
} from "@wgp-farm/queue";
import { importTestTasks, startTestWorker, testManifest, uniquePrefix, waitUntil } from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";

let farm: FarmConnection;

beforeEach(async () => {
  farm = await FarmConnection.open(inject("redisUrl"), uniquePrefix("cancel"));
});
afterEach(async () => {
  await farm.close();
});

describe("cancelTask", () => {
  it("removes a task that has not started and keeps a record of it", async () => {
    await importTestTasks(farm, [{ task_id: "later", priority: 7 }]);
    const result = await cancelTask(farm, "later", "not tonight");
    expect(result).toEqual({ task_id: "later", outcome: "removed", state: "prioritized" });
    expect(await farm.queues.forModel("t2v").getJob("later")).toBeUndefined();
    const record = await readCancelledRecord(farm, "later");
    expect(record).toMatchObject({
      task_id: "later",
      queue: "model.t2v",
      reason: "not tonight",
      state: "prioritized",
      task: { task_id: "later", model: "t2v", priority: 7 },
      import: { source: "test" },
    });
    expect(Date.parse(record?.cancelled_at ?? "")).toBeGreaterThan(0);
    const all = [];
    for await (const each of readCancelledRecords(farm)) all.push(each.task_id);
    expect(all).toEqual(["later"]);

    // Cancelled once, it has ended: a second cancel does nothing.
    expect(await cancelTask(farm, "later")).toEqual({
      task_id: "later",
      outcome: "already-finished",
      state: "cancelled",
    });
  });

  it("asks the slot running a task to stop it, on the cancel channel", async () => {
    await importTestTasks(farm, [{ task_id: "running" }]);
    const { promise: release, resolve: letItFinish } = Promise.withResolvers<void>();
    const worker = await startTestWorker(farm, "model.t2v", async (job) => {
      await release;
      return testManifest(job, { queue_wait_s: 0, model_load_s: 0, generation_s: 1 });
    });
    try {
      const queue = farm.queues.forModel("t2v");
      await waitUntil(async () => (await queue.getJobState("running")) === "active");
      const result = await cancelTask(farm, "running", "wrong prompt");
      expect(result).toEqual({ task_id: "running", outcome: "cancelling", state: "active" });
      expect(await new CancelChannel(farm.redis, farm.keys).requestOf("running")).toMatchObject({
        reason: "wrong prompt",
      });
      expect(await readCancelledRecord(farm, "running")).toBeNull();
    } finally {
      letItFinish();
      await worker.close();
    }
  });

  it("leaves finished and unknown tasks alone", async () => {
    await importTestTasks(farm, [{ task_id: "done" }]);
    const worker = await startTestWorker(farm, "model.t2v", async (job) =>
      testManifest(job, { queue_wait_s: 0, model_load_s: 0, generation_s: 1 }),
    );
    await waitUntil(async () => (await farm.queues.forModel("t2v").getJobState("done")) === "completed");
    await worker.close();
    expect(await cancelTask(farm, "done")).toEqual({
      task_id: "done",
      outcome: "already-finished",
      state: "completed",
    });
    expect(await cancelTask(farm, "ghost")).toEqual({
      task_id: "ghost",
      outcome: "not-found",
      state: "unknown",
    });
    expect(await new CancelChannel(farm.redis, farm.keys).isRequested("done")).toBe(false);
  });
});
