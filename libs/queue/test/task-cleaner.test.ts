import {
  cleanTasks,
  FarmConnection,
  QUARANTINE_QUEUE,
  removeQueueJobs,
  type StoredResults,
} from "@wgp-farm/queue";
import { importTestTasks, quarantineTestTask, uniquePrefix } from "@wgp-farm/testing";
import { afterEach, describe, expect, inject, it } from "vitest";
import { NO_RETRIES, runTasks } from "./support/run-jobs.js";

let farm: FarmConnection;

async function openFarm(prefix: string): Promise<FarmConnection> {
  farm = await FarmConnection.open(inject("redisUrl"), prefix);
  return farm;
}
afterEach(async () => {
  await farm.close();
});

const indexed = async (taskId: string) => farm.redis.hget(farm.keys.taskIndex, taskId);
const folderOwner = async (subDir: string) => farm.redis.hget(farm.keys.outputDirs, subDir);

describe("cleanTasks", () => {
  // A hash-tag prefix too: the index script builds job keys the way BullMQ does, whatever the prefix.
  it.each([uniquePrefix("clean"), `{${uniquePrefix("clean")}}`])(
    "removes old finished tasks of a state and forgets them in the indexes (prefix %s)",
    async (prefix) => {
      await openFarm(prefix);
      await importTestTasks(
        farm,
        [
          { task_id: "good-1", output_sub_dir: "one" },
          { task_id: "good-2" },
          { task_id: "bad-1", output_sub_dir: "three" },
        ],
        NO_RETRIES,
      );
      await runTasks(farm, "t2v", 3);

      const dry = await cleanTasks(farm, { state: "completed", olderThanMs: 0, dryRun: true });
      expect(dry.removed.map((task) => task.task_id).sort()).toEqual(["good-1", "good-2"]);
      expect(await farm.queues.forModel("t2v").getCompletedCount()).toBe(2);

      const young = await cleanTasks(farm, { state: "completed", olderThanMs: 3_600_000 });
      expect(young.removed).toEqual([]);

      const report = await cleanTasks(farm, { state: "completed", olderThanMs: 0 });
      expect(report).toMatchObject({ state: "completed", older_than_ms: 0, dry_run: false });
      expect(report.removed.map((task) => [task.task_id, task.queue, task.model]).sort()).toEqual([
        ["good-1", "model.t2v", "t2v"],
        ["good-2", "model.t2v", "t2v"],
      ]);
      expect(report.removed.every((task) => Date.parse(task.finished_at ?? "") > 0)).toBe(true);
      expect(await farm.queues.forModel("t2v").getCompletedCount()).toBe(0);
      expect(await indexed("good-1")).toBeNull();
      expect(await folderOwner("one")).toBeNull();
      // The failed task is untouched, in its queue and in the indexes.
      expect(await indexed("bad-1")).toBe("model.t2v");
      expect(await folderOwner("three")).toBe("bad-1");
    },
  );

  it("removes the stored results of the removed tasks, except one a task the farm still has owns", async () => {
    await openFarm(uniquePrefix("clean-results"));
    await importTestTasks(
      farm,
      [
        { task_id: "good-1", output_sub_dir: "one" },
        { task_id: "good-2", output_sub_dir: "two" },
      ],
      NO_RETRIES,
    );
    await runTasks(farm, "t2v", 2);
    // The folder of good-2 now belongs to another task the farm has (waiting to overwrite it).
    await importTestTasks(farm, [{ task_id: "later" }], NO_RETRIES);
    await farm.redis.hset(farm.keys.outputDirs, "two", "later");
    const removedDirs: string[] = [];
    const results: StoredResults = {
      holds: (outputDir) => outputDir.startsWith("/outputs/"),
      remove: async (outputDir) => void removedDirs.push(outputDir),
    };

    const dry = await cleanTasks(farm, { state: "completed", olderThanMs: 0, dryRun: true, results });
    expect(dry.results?.removed).toEqual(["/outputs/good-1"]);
    expect(removedDirs).toEqual([]);

    const report = await cleanTasks(farm, { state: "completed", olderThanMs: 0, results });
    expect(report.results).toEqual({
      removed: ["/outputs/good-1"],
      kept: [{ output_dir: "/outputs/good-2", task_id: "later" }],
      failed: [],
    });
    expect(removedDirs).toEqual(["/outputs/good-1"]);
    // Without a store to clean, the report says nothing about results.
    expect((await cleanTasks(farm, { state: "completed", olderThanMs: 0 })).results).toBeUndefined();
  });

  it("removes a quarantined task with its failed original, for one model only", async () => {
    await openFarm(uniquePrefix("clean"));
    await importTestTasks(farm, [{ task_id: "bad-q1" }], NO_RETRIES);
    await importTestTasks(farm, [{ task_id: "bad-q2", model: "i2v" }], NO_RETRIES);
    await runTasks(farm, "t2v", 1);
    await runTasks(farm, "i2v", 1);
    await quarantineTestTask(farm, "model.t2v", "bad-q1");
    await quarantineTestTask(farm, "model.i2v", "bad-q2");

    const report = await cleanTasks(farm, { state: "quarantined", olderThanMs: 0, model: "t2v" });
    expect(report.removed.map((task) => task.task_id)).toEqual(["bad-q1"]);
    expect(await farm.queues.byName(QUARANTINE_QUEUE).getJob("bad-q1")).toBeUndefined();
    expect(await farm.queues.forModel("t2v").getJob("bad-q1")).toBeUndefined();
    expect(await indexed("bad-q1")).toBeNull();
    expect(await farm.queues.byName(QUARANTINE_QUEUE).getJob("bad-q2")).toBeDefined();
    expect(await indexed("bad-q2")).toBe(QUARANTINE_QUEUE);
  });
});

describe("removeQueueJobs", () => {
  it("forgets no task whose indexed job still exists (it was imported again elsewhere)", async () => {
    await openFarm(uniquePrefix("clean"));
    await importTestTasks(farm, [{ task_id: "moved" }], NO_RETRIES);
    await runTasks(farm, "t2v", 1);
    await importTestTasks(farm, [{ task_id: "moved-copy", model: "i2v" }]);
    await farm.redis.hset(farm.keys.taskIndex, "moved", "model.i2v");
    // A job of that id lives in the queue the index names now.
    const live = await farm.queues.forModel("i2v").getJob("moved-copy");
    await farm.queues.forModel("i2v").add("moved", live?.data as never, { jobId: "moved" });
    await removeQueueJobs(farm, "model.t2v", { types: ["completed"], olderThanMs: 0 });
    expect(await farm.queues.forModel("t2v").getJob("moved")).toBeUndefined();
    expect(await indexed("moved")).toBe("model.i2v");
  });
});
