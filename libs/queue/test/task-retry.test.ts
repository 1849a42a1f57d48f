import {
  cancelTask,
  FarmConnection,
  QUARANTINE_QUEUE,
  retryAllFailed,
  retryTask,
  UnknownModelError,
} from "@wgp-farm/queue";
import { importTestTasks, quarantineTestTask, uniquePrefix } from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { NO_RETRIES, runTasks } from "./support/run-jobs.js";

let farm: FarmConnection;

beforeEach(async () => {
  farm = await FarmConnection.open(inject("redisUrl"), uniquePrefix("retry"));
});
afterEach(async () => {
  await farm.close();
});

describe("retryTask", () => {
  it("runs a failed task again with a fresh count of attempts", async () => {
    await importTestTasks(farm, [{ task_id: "bad-1" }], NO_RETRIES);
    await runTasks(farm, "t2v", 1);
    expect(await retryTask(farm, "bad-1")).toEqual({
      task_id: "bad-1",
      outcome: "retried",
      state: "failed",
      queue: "model.t2v",
      message: null,
    });
    const job = await farm.queues.forModel("t2v").getJob("bad-1");
    expect(await job?.getState()).toBe("prioritized");
    expect(job?.attemptsMade).toBe(0);
  });

  it("refuses a completed or waiting task, saying why, and does not know an unknown id", async () => {
    await importTestTasks(farm, [{ task_id: "good" }], NO_RETRIES);
    await runTasks(farm, "t2v", 1);
    await importTestTasks(farm, [{ task_id: "queued" }]);
    expect(await retryTask(farm, "good")).toEqual({
      task_id: "good",
      outcome: "not-retriable",
      state: "completed",
      queue: "model.t2v",
      message: "the task is completed; re-import it with import-tasks --rerun to run it again",
    });
    expect(await retryTask(farm, "queued")).toMatchObject({ outcome: "not-retriable", state: "prioritized" });
    expect(await retryTask(farm, "ghost")).toEqual({
      task_id: "ghost",
      outcome: "not-found",
      state: null,
      queue: null,
      message: "unknown task id",
    });
  });

  it("refuses a task whose job is gone (the index still knows it)", async () => {
    await importTestTasks(farm, [{ task_id: "gone" }]);
    await (await farm.queues.forModel("t2v").getJob("gone"))?.remove();
    expect(await retryTask(farm, "gone")).toMatchObject({
      outcome: "not-retriable",
      state: "missing",
      queue: "model.t2v",
    });
  });

  it("moves a quarantined task back to its model queue", async () => {
    await importTestTasks(farm, [{ task_id: "bad-q1" }], NO_RETRIES);
    await runTasks(farm, "t2v", 1);
    await quarantineTestTask(farm, "model.t2v", "bad-q1");
    expect(await retryTask(farm, "bad-q1")).toMatchObject({
      outcome: "retried",
      state: "quarantined",
      queue: "model.t2v",
    });
    expect(await farm.queues.byName(QUARANTINE_QUEUE).getJob("bad-q1")).toBeUndefined();
    const job = await farm.queues.forModel("t2v").getJob("bad-q1");
    expect(await job?.getState()).toBe("prioritized");
    // The original's retry policy comes with it.
    expect(job?.opts.attempts).toBe(1);
    expect(await farm.redis.hget(farm.keys.taskIndex, "bad-q1")).toBe("model.t2v");
  });

  it("queues a task cancelled before it ran again, and drops its cancel record", async () => {
    await importTestTasks(farm, [{ task_id: "later" }]);
    await cancelTask(farm, "later");
    expect(await retryTask(farm, "later")).toMatchObject({
      outcome: "retried",
      state: "cancelled",
      queue: "model.t2v",
    });
    expect(await farm.queues.forModel("t2v").getJobState("later")).toBe("prioritized");
    expect(await farm.redis.hget(farm.keys.cancelled, "later")).toBeNull();
  });
});

describe("retryAllFailed", () => {
  it("retries every failed task of the named models, but no quarantined original", async () => {
    await importTestTasks(
      farm,
      [{ task_id: "bad-1" }, { task_id: "bad-q2" }, { task_id: "good" }],
      NO_RETRIES,
    );
    await importTestTasks(farm, [{ task_id: "bad-i2v", model: "i2v" }], NO_RETRIES);
    await runTasks(farm, "t2v", 3);
    await runTasks(farm, "i2v", 1);
    await quarantineTestTask(farm, "model.t2v", "bad-q2");

    const t2v = await retryAllFailed(farm, ["t2v"]);
    expect(t2v.map((result) => [result.task_id, result.outcome])).toEqual([["bad-1", "retried"]]);
    expect(await farm.queues.forModel("i2v").getJobState("bad-i2v")).toBe("failed");

    const all = await retryAllFailed(farm);
    expect(all.map((result) => result.task_id)).toEqual(["bad-i2v"]);
    await expect(retryAllFailed(farm, ["ghost"])).rejects.toThrow(UnknownModelError);
  });
});
