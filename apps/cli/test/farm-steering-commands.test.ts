import { cancelTask, FarmConnection, QUARANTINE_QUEUE } from "@wgp-farm/queue";
import {
  importTestTasks,
  quarantineTestTask,
  startTestWorker,
  testManifest,
  uniquePrefix,
  waitUntil,
} from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { runCli } from "./run-cli.js";

let prefix: string;
let farm: FarmConnection;
const farmArgs = () => ["--redis-url", inject("redisUrl"), "--prefix", prefix];

beforeEach(async () => {
  prefix = uniquePrefix("cli-steer");
  farm = await FarmConnection.open(inject("redisUrl"), prefix);
});
afterEach(async () => {
  await farm.close();
});

/**
 * Runs every waiting t2v task once: ids starting with `bad` fail (`bad-q…` as the worker fails a task
 * it quarantines), the others complete.
 */
async function runT2vTasks(expected: number): Promise<void> {
  const worker = await startTestWorker(farm, "model.t2v", async (job) => {
    if (String(job.id).startsWith("bad-q")) throw new Error(`quarantined: ${job.id} took down its worker`);
    if (String(job.id).startsWith("bad")) throw new Error(`${job.id} failed on purpose`);
    return testManifest(job, { queue_wait_s: 1, model_load_s: 0, generation_s: 5 });
  });
  const queue = farm.queues.forModel("t2v");
  await waitUntil(async () => (await queue.getCompletedCount()) + (await queue.getFailedCount()) >= expected);
  await worker.close();
}

describe("wgp-farm retry", () => {
  it("retries failed tasks with fresh attempts, and says which tasks it could not retry (exit 1)", async () => {
    await importTestTasks(farm, [{ task_id: "bad-1" }, { task_id: "bad-2" }, { task_id: "good-1" }], {
      attempts: 1,
      backoffMs: 0,
    });
    await runT2vTasks(3);
    const one = await runCli(["retry", "bad-1", ...farmArgs()]);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain("retried      bad-1 (was failed) → model.t2v");
    const job = await farm.queues.forModel("t2v").getJob("bad-1");
    expect(await job?.getState()).toBe("prioritized");
    expect(job?.attemptsMade).toBe(0);

    const mixed = await runCli(["retry", "good-1", "ghost", "--json", ...farmArgs()]);
    expect(mixed.code).toBe(1);
    expect(JSON.parse(mixed.stdout)).toEqual([
      expect.objectContaining({ task_id: "good-1", outcome: "not-retriable", state: "completed" }),
      expect.objectContaining({ task_id: "ghost", outcome: "not-found" }),
    ]);

    const all = await runCli(["retry", "--all-failed", "--json", ...farmArgs()]);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout)).toEqual([
      expect.objectContaining({ task_id: "bad-2", outcome: "retried" }),
    ]);
    expect(await farm.queues.forModel("t2v").getFailedCount()).toBe(0);
  });

  it("queues a cancelled task again; refuses to run without task ids or with both forms (exit 2)", async () => {
    await importTestTasks(farm, [{ task_id: "later-1" }]);
    expect((await cancelTask(farm, "later-1", "not now")).outcome).toBe("removed");
    const retried = await runCli(["retry", "later-1", "--json", ...farmArgs()]);
    expect(retried.code).toBe(0);
    expect(JSON.parse(retried.stdout)[0]).toMatchObject({
      outcome: "retried",
      state: "cancelled",
      queue: "model.t2v",
    });
    expect(await farm.queues.forModel("t2v").getJobState("later-1")).toBe("prioritized");
    expect(await farm.redis.hget(farm.keys.cancelled, "later-1")).toBeNull();

    expect((await runCli(["retry", ...farmArgs()])).code).toBe(2);
    expect((await runCli(["retry", "later-1", "--all-failed", ...farmArgs()])).code).toBe(2);
  });
});

describe("wgp-farm retry and clean of quarantined tasks", () => {
  it("moves a quarantined task back into its model queue, and cleans quarantine records with their failed originals", async () => {
    await importTestTasks(farm, [{ task_id: "bad-q1" }, { task_id: "bad-q2" }], {
      attempts: 1,
      backoffMs: 0,
    });
    await runT2vTasks(2);
    await quarantineTestTask(farm, "model.t2v", "bad-q1");
    await quarantineTestTask(farm, "model.t2v", "bad-q2");
    // --all-failed leaves quarantined tasks alone: they kept killing workers.
    expect(JSON.parse((await runCli(["retry", "--all-failed", "--json", ...farmArgs()])).stdout)).toEqual([]);
    const retried = await runCli(["retry", "bad-q1", "--json", ...farmArgs()]);
    expect(JSON.parse(retried.stdout)[0]).toMatchObject({
      outcome: "retried",
      state: "quarantined",
      queue: "model.t2v",
    });
    expect(await farm.queues.forModel("t2v").getJobState("bad-q1")).toBe("prioritized");
    expect(await farm.queues.byName(QUARANTINE_QUEUE).getJob("bad-q1")).toBeUndefined();
    expect(await farm.redis.hget(farm.keys.taskIndex, "bad-q1")).toBe("model.t2v");

    const cleaned = await runCli([
      "clean",
      "--state",
      "quarantined",
      "--older-than",
      "0s",
      "--json",
      ...farmArgs(),
    ]);
    expect(JSON.parse(cleaned.stdout).removed).toEqual([
      expect.objectContaining({ task_id: "bad-q2", model: "t2v" }),
    ]);
    expect(await farm.queues.forModel("t2v").getJob("bad-q2")).toBeUndefined();
    expect(await farm.redis.hget(farm.keys.taskIndex, "bad-q2")).toBeNull();
  });
});

describe("wgp-farm pause / resume", () => {
  it("pauses every model queue or the named ones, and resumes them", async () => {
    await importTestTasks(farm, [{ task_id: "p-1" }, { task_id: "p-2", model: "vace_14B" }]);
    const paused = await runCli(["pause", "--json", ...farmArgs()]);
    expect(paused.code).toBe(0);
    expect(JSON.parse(paused.stdout)).toEqual([
      { queue: "model.t2v", model: "t2v", paused: true },
      { queue: "model.vace_14B", model: "vace_14B", paused: true },
    ]);
    const resumed = await runCli(["resume", "--model", "vace_14B", ...farmArgs()]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/model\.vace_14B\s+running/);
    expect(await farm.queues.forModel("t2v").isPaused()).toBe(true);
    expect(await farm.queues.forModel("vace_14B").isPaused()).toBe(false);
    const unknown = await runCli(["pause", "--model", "t3v", ...farmArgs()]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no queue for model 't3v' (known: t2v, vace_14B)");
  });
});

describe("wgp-farm clean", () => {
  it("removes finished tasks older than the cutoff and forgets them in the task and output-folder indexes", async () => {
    await importTestTasks(
      farm,
      [{ task_id: "old-1", output_sub_dir: "batch/old-1" }, { task_id: "old-2" }, { task_id: "bad-1" }],
      {
        attempts: 1,
        backoffMs: 0,
      },
    );
    await runT2vTasks(3);
    const young = await runCli([
      "clean",
      "--state",
      "completed",
      "--older-than",
      "7d",
      "--json",
      ...farmArgs(),
    ]);
    expect(young.code).toBe(0);
    expect(JSON.parse(young.stdout).removed).toEqual([]);

    const dry = await runCli(["clean", "--older-than", "0s", "--dry-run", ...farmArgs()]);
    expect(dry.stdout).toMatch(
      /^Would remove 2 completed tasks: old-1, old-2|^Would remove 2 completed tasks: old-2, old-1/,
    );
    expect(await farm.queues.forModel("t2v").getCompletedCount()).toBe(2);

    const cleaned = await runCli([
      "clean",
      "--state",
      "completed",
      "--older-than",
      "0s",
      "--json",
      ...farmArgs(),
    ]);
    expect(cleaned.code).toBe(0);
    const report = JSON.parse(cleaned.stdout);
    expect(report).toMatchObject({ state: "completed", older_than_ms: 0, dry_run: false });
    expect(report.removed.map((task: { task_id: string }) => task.task_id).sort()).toEqual([
      "old-1",
      "old-2",
    ]);
    expect(await farm.queues.forModel("t2v").getCompletedCount()).toBe(0);
    expect(await farm.redis.hmget(farm.keys.taskIndex, "old-1", "old-2", "bad-1")).toEqual([
      null,
      null,
      "model.t2v",
    ]);
    expect(await farm.redis.hget(farm.keys.outputDirs, "batch/old-1")).toBeNull();
    expect((await runCli(["status", "old-1", ...farmArgs()])).code).toBe(1);

    const failed = await runCli(["clean", "--state", "failed", "--older-than", "0s", ...farmArgs()]);
    expect(failed.stdout).toBe("Removed 1 failed task: bad-1\n");
  });

  it("refuses a duration it cannot read (exit 2)", async () => {
    const bad = await runCli(["clean", "--older-than", "a week", ...farmArgs()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("'a week' is not a duration");
    expect((await runCli(["clean", ...farmArgs()])).code).toBe(2);
  });
});
