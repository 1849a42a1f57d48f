import { cancelTask, FarmConnection, findTask, findTaskJob, QUARANTINE_QUEUE } from "@wgp-farm/queue";
import { importTestTasks, quarantineTestTask, uniquePrefix } from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { NO_RETRIES, runTasks } from "./support/run-jobs.js";

let farm: FarmConnection;

beforeEach(async () => {
  farm = await FarmConnection.open(inject("redisUrl"), uniquePrefix("lookup"));
});
afterEach(async () => {
  await farm.close();
});

describe("findTask", () => {
  it("describes a waiting task from its job", async () => {
    await importTestTasks(farm, [{ task_id: "waiting", priority: 3, output_sub_dir: "clips/one" }]);
    const task = await findTask(farm, "waiting");
    expect(task).toMatchObject({
      task_id: "waiting",
      state: "prioritized",
      queue: "model.t2v",
      model: "t2v",
      name: "a test video for waiting",
      priority: 3,
      attempts: { made: 0, started: 0, max: 3, stalled: 0 },
      output_sub_dir: "clips/one",
      output_dir: null,
      errors: [],
      result: null,
      cancelled: null,
      quarantine: null,
      finished_at: null,
    });
    expect(Date.parse(task?.created_at ?? "")).toBeGreaterThan(0);
  });

  it("keeps the importer's warnings with the task", async () => {
    await importTestTasks(farm, [{ task_id: "typo", stpes: 20 }, { task_id: "clean" }]);
    expect((await findTask(farm, "clean"))?.import_warnings).toEqual([]);
    expect((await findTask(farm, "typo"))?.import_warnings).toEqual([
      { path: "stpes", message: expect.stringMatching(/did you mean 'steps'\?/) },
    ]);
  });

  it("gives a completed task's result and output folder, and a failed task's errors", async () => {
    await importTestTasks(farm, [{ task_id: "good" }, { task_id: "bad-1" }], NO_RETRIES);
    await runTasks(farm, "t2v", 2);
    const good = await findTask(farm, "good");
    expect(good).toMatchObject({
      state: "completed",
      output_dir: "/outputs/good",
      worker: "gpu0@test-host",
      result: expect.objectContaining({ main_file: "good.mp4" }),
    });
    expect(Date.parse(good?.finished_at ?? "")).toBeGreaterThan(0);
    const bad = await findTask(farm, "bad-1");
    expect(bad).toMatchObject({ state: "failed", attempts: { made: 1, max: 1 } });
    expect(bad?.errors).toEqual([{ attempt: 1, message: "bad-1 failed on purpose" }]);
  });

  it("finds a quarantined task in the quarantine queue, with the history of its attempts", async () => {
    await importTestTasks(farm, [{ task_id: "bad-q1" }], NO_RETRIES);
    await runTasks(farm, "t2v", 1);
    await quarantineTestTask(farm, "model.t2v", "bad-q1");
    const task = await findTask(farm, "bad-q1");
    expect(task).toMatchObject({
      state: "quarantined",
      queue: QUARANTINE_QUEUE,
      model: "t2v",
      quarantine: expect.objectContaining({ from_queue: "model.t2v", stalls: 3 }),
      errors: [{ attempt: 1, message: "job stalled more than allowable limit" }],
      log_tail: ["engine: segfault"],
    });
    // Its failed original, still in the model queue, is not the task.
    expect((await findTaskJob(farm, "bad-q1", "model.t2v"))?.queueName).toBe(QUARANTINE_QUEUE);
  });

  it("describes a cancelled task from its cancel record, and a task whose job is gone as missing", async () => {
    await importTestTasks(farm, [{ task_id: "later" }, { task_id: "gone" }]);
    await cancelTask(farm, "later", "changed my mind");
    await (await farm.queues.forModel("t2v").getJob("gone"))?.remove();
    expect(await findTask(farm, "later")).toMatchObject({
      state: "cancelled",
      queue: "model.t2v",
      model: "t2v",
      cancelled: expect.objectContaining({ reason: "changed my mind", state: "prioritized" }),
    });
    expect(await findTask(farm, "gone")).toMatchObject({
      state: "missing",
      queue: "model.t2v",
      cancelled: null,
    });
    expect(await findTask(farm, "never-seen")).toBeNull();
  });

  it("gives the last lines of the job's log, as many as asked", async () => {
    await importTestTasks(farm, [{ task_id: "chatty" }]);
    const job = await farm.queues.forModel("t2v").getJob("chatty");
    for (const line of ["one", "two", "three"]) await job?.log(line);
    expect((await findTask(farm, "chatty", { logLines: 2 }))?.log_tail).toEqual(["two", "three"]);
    expect((await findTask(farm, "chatty", { logLines: 0 }))?.log_tail).toEqual([]);
  });
});
