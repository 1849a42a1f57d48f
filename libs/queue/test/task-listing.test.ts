import { cancelTask, FarmConnection, listTasks } from "@wgp-farm/queue";
import { importTestTasks, quarantineTestTask, uniquePrefix } from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { NO_RETRIES, runTasks } from "./support/run-jobs.js";

let farm: FarmConnection;

beforeEach(async () => {
  farm = await FarmConnection.open(inject("redisUrl"), uniquePrefix("listing"));
  await importTestTasks(
    farm,
    [{ task_id: "good-1" }, { task_id: "bad-1" }, { task_id: "bad-q1" }, { task_id: "good-2" }],
    NO_RETRIES,
  );
  await runTasks(farm, "t2v", 4);
  await quarantineTestTask(farm, "model.t2v", "bad-q1");
  await importTestTasks(farm, [
    { task_id: "i2v-wait", model: "i2v" },
    { task_id: "i2v-later", model: "i2v" },
  ]);
  await cancelTask(farm, "i2v-later", "not needed");
});
afterEach(async () => {
  await farm.close();
});

const ids = (tasks: { task_id: string }[]) => tasks.map((task) => task.task_id).sort();

describe("listTasks", () => {
  it("lists every task once, a quarantined one from the quarantine queue", async () => {
    const tasks = await listTasks(farm);
    expect(ids(tasks)).toEqual(["bad-1", "bad-q1", "good-1", "good-2", "i2v-later", "i2v-wait"]);
    const byId = new Map(tasks.map((task) => [task.task_id, task]));
    expect(byId.get("bad-q1")).toMatchObject({ state: "quarantined", queue: "quarantine", model: "t2v" });
    expect(byId.get("bad-1")).toMatchObject({ state: "failed", failed_reason: "bad-1 failed on purpose" });
    expect(byId.get("i2v-wait")).toMatchObject({ state: "prioritized", model: "i2v", percent: null });
    expect(byId.get("i2v-later")).toMatchObject({
      state: "cancelled",
      queue: "model.i2v",
      model: "i2v",
      name: "a test video for i2v-later",
      failed_reason: "not needed",
    });
  });

  it("filters by state and model", async () => {
    expect(ids(await listTasks(farm, { state: "completed" }))).toEqual(["good-1", "good-2"]);
    expect(ids(await listTasks(farm, { state: "failed" }))).toEqual(["bad-1"]);
    expect(ids(await listTasks(farm, { state: "quarantined" }))).toEqual(["bad-q1"]);
    expect(ids(await listTasks(farm, { state: "cancelled" }))).toEqual(["i2v-later"]);
    // "waiting" includes the prioritized set: to an operator a task with a priority is just waiting.
    expect(ids(await listTasks(farm, { state: "waiting" }))).toEqual(["i2v-wait"]);
    expect(ids(await listTasks(farm, { model: "i2v" }))).toEqual(["i2v-later", "i2v-wait"]);
    expect(ids(await listTasks(farm, { model: "t2v", state: "quarantined" }))).toEqual(["bad-q1"]);
    expect(await listTasks(farm, { model: "i2v", state: "quarantined" })).toEqual([]);
  });

  it("lists the most recently finished or created first, up to the limit", async () => {
    const tasks = await listTasks(farm, { limit: 3 });
    expect(tasks).toHaveLength(3);
    const times = tasks.map((task) => Date.parse(task.finished_at ?? task.created_at ?? ""));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(ids(tasks)).toContain("i2v-later");
  });
});
