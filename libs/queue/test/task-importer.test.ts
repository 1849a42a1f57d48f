import { Readable } from "node:stream";
import { readTaskRecords, TaskValidator } from "@wgp-farm/tasks";
import { temporaryDir, uniquePrefix } from "@wgp-farm/testing";
import { UnrecoverableError, Worker } from "bullmq";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import {
  DEFAULT_RETRY_POLICY,
  DryRunTaskSink,
  FarmConnection,
  type ImportOptions,
  QUARANTINE_QUEUE,
  RedisTaskSink,
  TaskImporter,
  type TaskJobData,
} from "../src/index.js";

let farm: FarmConnection;
let media: { dir: string; remove: () => Promise<void> };

beforeEach(async () => {
  farm = await FarmConnection.open(inject("redisUrl"), uniquePrefix());
  media = await temporaryDir("import-media");
});
afterEach(async () => {
  await farm.close();
  await media.remove();
});

function jsonl(tasks: unknown[]): string {
  return tasks.map((task) => JSON.stringify(task)).join("\n");
}

async function runImport(text: string, options: Partial<ImportOptions> = {}, batchSize = 1000) {
  const importer = new TaskImporter(new RedisTaskSink(farm, DEFAULT_RETRY_POLICY));
  const validator = new TaskValidator({ mediaRoot: media.dir });
  return importer.import(readTaskRecords(Readable.from([Buffer.from(text)])), validator, {
    source: "test",
    batchSize,
    ...options,
  });
}

const task = (id: string, extra: Record<string, unknown> = {}) => ({
  task_id: id,
  prompt: `prompt ${id}`,
  ...extra,
});

describe("TaskImporter with Redis", () => {
  it("queues each task in its model's queue with jobId = task_id, priority and import data", async () => {
    const report = await runImport(
      jsonl([
        task("a", { model: "t2v", priority: 5 }),
        task("b", { model: "vace_14B" }),
        task("c", { model: "t2v" }),
      ]),
    );
    expect(report.imported.map((e) => [e.task_id, e.queue])).toEqual([
      ["a", "model.t2v"],
      ["b", "model.vace_14B"],
      ["c", "model.t2v"],
    ]);
    const job = await farm.queues.forModel("t2v").getJob("a");
    expect(job?.opts.priority).toBe(5);
    expect(job?.data.task).toMatchObject({ task_id: "a", model: "t2v", output_sub_dir: "a" });
    expect(job?.data.import).toMatchObject({ source: "test", seed_generated: true });
    expect(await farm.redis.hget(farm.keys.taskIndex, "b")).toBe("model.vace_14B");
    expect(await farm.queues.knownModels()).toEqual(["t2v", "vace_14B"]);
  });

  it("is idempotent: a second import skips every task and reports its state", async () => {
    await runImport(jsonl([task("a"), task("b")]));
    const again = await runImport(jsonl([task("a"), task("b")]));
    expect(again.imported).toEqual([]);
    expect(again.skipped.map((e) => [e.task_id, e.state])).toEqual([
      ["a", "prioritized"],
      ["b", "prioritized"],
    ]);
    expect(await farm.queues.forModel("t2v").count()).toBe(2);
  });

  it("keeps task ids unique across model queues", async () => {
    await runImport(jsonl([task("same", { model: "t2v" })]));
    const report = await runImport(jsonl([task("same", { model: "i2v" })]));
    expect(report.skipped).toEqual([{ index: 0, task_id: "same", queue: "model.t2v", state: "prioritized" }]);
    expect(await farm.queues.forModel("i2v").count()).toBe(0);
  });

  it("--rerun re-queues completed and failed tasks, with fresh attempts and the new task data", async () => {
    await runImport(jsonl([task("ok"), task("bad"), task("waiting")]));
    const worker = new Worker("model.t2v", null, {
      connection: farm.redis.duplicate(),
      prefix: farm.keys.prefix,
    });
    for (;;) {
      const job = await worker.getNextJob("tok", { block: false });
      if (!job) break;
      if (job.id === "ok") await job.moveToCompleted({ fine: true }, "tok", false);
      else if (job.id === "bad") await job.moveToFailed(new UnrecoverableError("boom"), "tok", false);
      else {
        await job.moveToDelayed(Date.now() + 60_000, "tok");
        break;
      }
    }
    await worker.close();
    const report = await runImport(jsonl([task("ok", { steps: 9 }), task("bad"), task("waiting")]), {
      rerun: true,
    });
    expect(report.imported.map((e) => [e.task_id, e.note])).toEqual([
      ["ok", "rerun (was completed)"],
      ["bad", "rerun (was failed)"],
    ]);
    expect(report.skipped.map((e) => [e.task_id, e.state])).toEqual([["waiting", "delayed"]]);
    const queue = farm.queues.forModel("t2v");
    const ok = await queue.getJob("ok");
    expect(await ok?.getState()).toMatch(/waiting|prioritized/);
    expect(ok?.data.task.steps).toBe(9);
    expect(ok?.attemptsMade).toBe(0);
  });

  it("--rerun moves a finished task to its new model's queue", async () => {
    await runImport(jsonl([task("m", { model: "t2v" })]));
    const worker = new Worker("model.t2v", null, {
      connection: farm.redis.duplicate(),
      prefix: farm.keys.prefix,
    });
    const job = await worker.getNextJob("tok", { block: false });
    await job?.moveToCompleted({}, "tok", false);
    await worker.close();
    const report = await runImport(jsonl([task("m", { model: "i2v" })]), { rerun: true });
    expect(report.imported).toEqual([
      { index: 0, task_id: "m", queue: "model.i2v", note: "rerun (was completed in model.t2v)" },
    ]);
    expect(await farm.redis.hget(farm.keys.taskIndex, "m")).toBe("model.i2v");
    expect(await farm.queues.forModel("t2v").getJob("m")).toBeUndefined();
  });

  it("reports quarantined and cancelled tasks as such, and --rerun brings them back to their model queue", async () => {
    await runImport(jsonl([task("sick"), task("stopped")]));
    const worker = new Worker("model.t2v", null, {
      connection: farm.redis.duplicate(),
      prefix: farm.keys.prefix,
    });
    for (;;) {
      const job = await worker.getNextJob("tok", { block: false });
      if (!job) break;
      const reason =
        job.id === "sick" ? "quarantined: took down its worker 3 times" : "cancelled: by the operator";
      await job.moveToFailed(new UnrecoverableError(reason), "tok", false);
    }
    await worker.close();
    // What the worker's quarantine leaves: the failed original, a copy in the quarantine queue, the index moved.
    const original = await farm.queues.forModel("t2v").getJob("sick");
    await farm.queues.byName(QUARANTINE_QUEUE).add("sick", original?.data as TaskJobData, { jobId: "sick" });
    await farm.redis.hset(farm.keys.taskIndex, "sick", QUARANTINE_QUEUE);

    const again = await runImport(jsonl([task("sick"), task("stopped")]));
    expect(again.skipped.map((e) => [e.task_id, e.state, e.queue])).toEqual([
      ["sick", "quarantined", "quarantine"],
      ["stopped", "cancelled", "model.t2v"],
    ]);
    const rerun = await runImport(jsonl([task("sick"), task("stopped")]), { rerun: true });
    expect(rerun.imported.map((e) => [e.task_id, e.queue])).toEqual([
      ["sick", "model.t2v"],
      ["stopped", "model.t2v"],
    ]);
    const queue = farm.queues.forModel("t2v");
    expect(await queue.getJobState("sick")).toMatch(/waiting|prioritized/);
    expect(await queue.getJobState("stopped")).toMatch(/waiting|prioritized/);
    expect(await farm.queues.byName("quarantine").getJob("sick")).toBeUndefined();
    expect(await farm.redis.hget(farm.keys.taskIndex, "sick")).toBe("model.t2v");
  });

  it("repairs an import that died between claiming a task and adding its job", async () => {
    // What a crash leaves behind: the index entry, no job.
    await farm.redis.hset(farm.keys.taskIndex, "orphan", "model.t2v");
    const report = await runImport(jsonl([task("orphan"), task("fresh")]));
    expect(report.imported.map((e) => [e.task_id, e.note])).toEqual([
      ["orphan", "repaired: the task was indexed but had no job"],
      ["fresh", undefined],
    ]);
    expect(await farm.queues.forModel("t2v").count()).toBe(2);
  });

  it("skips a task cancelled before it ran, and --rerun brings it back", async () => {
    await farm.redis.hset(farm.keys.taskIndex, "gone", "model.t2v");
    await farm.redis.hset(farm.keys.cancelled, "gone", JSON.stringify({ at: new Date().toISOString() }));
    expect((await runImport(jsonl([task("gone")]))).skipped).toEqual([
      { index: 0, task_id: "gone", queue: "model.t2v", state: "cancelled" },
    ]);
    const rerun = await runImport(jsonl([task("gone")]), { rerun: true });
    expect(rerun.imported[0]?.note).toBe("rerun of a cancelled task");
    expect(await farm.redis.hexists(farm.keys.cancelled, "gone")).toBe(0);
  });

  it("refuses a task whose output folder belongs to another task already in Redis", async () => {
    await runImport(jsonl([task("first", { output_sub_dir: "shared" })]));
    const report = await runImport(jsonl([task("second", { output_sub_dir: "shared" }), task("third")]));
    expect(report.invalid).toEqual([
      {
        index: 0,
        task_id: "second",
        line: 1,
        errors: [
          { path: "output_sub_dir", message: "output folder 'shared' is already used by task 'first'" },
        ],
      },
    ]);
    expect(report.imported.map((e) => e.task_id)).toEqual(["third"]);
    expect(await farm.redis.hget(farm.keys.taskIndex, "second")).toBeNull();
  });

  it("imports the valid tasks next to invalid ones, across batches", async () => {
    const tasks = Array.from({ length: 25 }, (_, i) => (i % 5 === 0 ? { task_id: `${i}` } : task(`t${i}`)));
    const report = await runImport(jsonl(tasks), {}, 7);
    expect(report.imported).toHaveLength(20);
    expect(report.invalid.map((e) => e.index)).toEqual([0, 5, 10, 15, 20]);
    expect(await farm.queues.forModel("t2v").count()).toBe(20);
  });
});

describe("DryRunTaskSink", () => {
  it("reports what would be imported without touching Redis", async () => {
    const importer = new TaskImporter(new DryRunTaskSink());
    const report = await importer.import(
      readTaskRecords(Readable.from([jsonl([task("x"), task("y", { model: "i2v" })])])),
      new TaskValidator({ mediaRoot: media.dir }),
      { source: "test" },
    );
    expect(report.imported.map((e) => e.queue)).toEqual(["model.t2v", "model.i2v"]);
    expect(await farm.redis.exists(farm.keys.taskIndex)).toBe(0);
  });
});
