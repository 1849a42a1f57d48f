import {
  backfillSearchIndex,
  cancelTask,
  FarmConnection,
  searchTasks,
  TaskSearchIndex,
} from "@wgp-farm/queue";
import { importTestTasks, quarantineTestTask, uniquePrefix } from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { NO_RETRIES, runTasks } from "./support/run-jobs.js";

let farm: FarmConnection;
let importedAt: number;

beforeEach(async () => {
  farm = await FarmConnection.open(inject("redisUrl"), uniquePrefix("search"));
  importedAt = Date.now();
  await importTestTasks(
    farm,
    [
      { task_id: "good-harbour", prompt: "A harbour at sunset, gulls circling" },
      { task_id: "bad-1", prompt: "A forest in the fog" },
      { task_id: "bad-q1", prompt: "Harbour cranes at night" },
    ],
    NO_RETRIES,
  );
  await runTasks(farm, "t2v", 3);
  await quarantineTestTask(farm, "model.t2v", "bad-q1");
  await importTestTasks(farm, [
    { task_id: "i2v-wait", model: "i2v", prompt: "Sunset over the desert" },
    { task_id: "i2v-later", model: "i2v", prompt: "Rain on a harbour window" },
  ]);
  await cancelTask(farm, "i2v-later", "not needed");
});
afterEach(async () => {
  await farm.close();
});

const ids = (tasks: { task_id: string }[]) => tasks.map((task) => task.task_id).sort();

describe("searchTasks", () => {
  it("finds tasks by words of the prompt (word prefixes, any case), with their state", async () => {
    const found = await searchTasks(farm, { text: "HARB" });
    expect(ids(found)).toEqual(["bad-q1", "good-harbour", "i2v-later"]);
    const byId = new Map(found.map((task) => [task.task_id, task.state]));
    expect(Object.fromEntries(byId)).toEqual({
      "good-harbour": "completed",
      "bad-q1": "quarantined",
      "i2v-later": "cancelled",
    });
    // Every word must match.
    expect(ids(await searchTasks(farm, { text: "harbour sunset" }))).toEqual(["good-harbour"]);
  });

  it("finds by task id prefix, model, state and import time", async () => {
    expect(ids(await searchTasks(farm, { text: "bad" }))).toEqual(["bad-1", "bad-q1"]);
    expect(ids(await searchTasks(farm, { text: "sunset", model: "i2v" }))).toEqual(["i2v-wait"]);
    expect(ids(await searchTasks(farm, { state: "waiting" }))).toEqual(["i2v-wait"]);
    expect(ids(await searchTasks(farm, { state: "failed" }))).toEqual(["bad-1"]);
    expect(await searchTasks(farm, { to: importedAt - 1 })).toEqual([]);
    expect(ids(await searchTasks(farm, { from: importedAt, limit: 2 }))).toHaveLength(2);
  });

  it("backfills tasks imported before the index existed, and drops tasks that are gone", async () => {
    const index = TaskSearchIndex.of(farm);
    await farm.redis.del(farm.keys.searchDocs, farm.keys.searchTimes, farm.keys.searchBackfilled);
    expect(await index.size()).toBe(0);
    // The first search notices the missing backfill and runs it.
    expect(ids(await searchTasks(farm, { text: "harbour" }))).toEqual([
      "bad-q1",
      "good-harbour",
      "i2v-later",
    ]);
    expect(await index.size()).toBe(5);
    expect(await backfillSearchIndex(farm)).toBe(5);

    await farm.queues.forModel("t2v").remove("bad-1");
    await farm.redis.hdel(farm.keys.taskIndex, "bad-1");
    expect(ids(await searchTasks(farm, { text: "forest" }))).toEqual([]);
    expect(await index.size()).toBe(4);
  });
});
