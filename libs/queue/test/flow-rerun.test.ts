import { Readable } from "node:stream";
import { readTaskRecords, TaskValidator } from "@wgp-farm/tasks";
import { temporaryDir, uniquePrefix } from "@wgp-farm/testing";
import { Worker } from "bullmq";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { DEFAULT_RETRY_POLICY, FarmConnection, RedisTaskSink, TaskImporter } from "../src/index.js";

/** `import-tasks --rerun` of flows (issue 17): a finished flow runs again whole, a running one is left alone. */
let farm: FarmConnection;
let media: { dir: string; remove: () => Promise<void> };

beforeEach(async () => {
  farm = await FarmConnection.open(inject("redisUrl"), uniquePrefix());
  media = await temporaryDir("flow-rerun");
});
afterEach(async () => {
  await farm.close();
  await media.remove();
});

async function runImport(tasks: unknown[], rerun = false) {
  const text = tasks.map((task) => JSON.stringify(task)).join("\n");
  const sink = new RedisTaskSink(farm, { ...DEFAULT_RETRY_POLICY, attempts: 1 });
  try {
    return await new TaskImporter(sink).import(
      readTaskRecords(Readable.from([Buffer.from(text)])),
      new TaskValidator({ mediaRoot: media.dir }),
      { source: "test", rerun },
    );
  } finally {
    await sink.flows.close();
  }
}

/** Takes the next job of a queue as a slot would, and ends it: completed, or failed with `error`. */
async function runNext(queue: string, expectedId: string, error?: string): Promise<void> {
  const worker = new Worker(queue, null, { connection: farm.redis, prefix: farm.keys.prefix });
  try {
    const job = await worker.getNextJob("token", { block: false });
    expect(job?.id).toBe(expectedId);
    if (error === undefined) {
      await job?.moveToCompleted({ output_dir: `/out/${expectedId}`, main_file: "out.mp4" }, "token", false);
    } else {
      await job?.moveToFailed(new Error(error), "token", false);
    }
  } finally {
    await worker.close();
  }
}

const seg = (id: string, extra: Record<string, unknown> = {}) => ({
  task_id: id,
  prompt: `prompt ${id}`,
  ...extra,
});
// biome-ignore lint/suspicious/noThenProperty: the task file's post-step field
const flow = [seg("take", { then: [{ upscale: "lanczos2" }] }), seg("next", { depends_on: ["take"] })];
const STEP = "take--then-1-upscale";

async function stateOf(queue: string, id: string): Promise<string> {
  return farm.queues.byName(queue).getJobState(id);
}

describe("import-tasks --rerun of flows", () => {
  it("runs a completed flow again whole: the task, its post-step and its dependant, from the file's data", async () => {
    await runImport(flow);
    await runNext("model.t2v", "take");
    await runNext("model.post.upscale", STEP);
    await runNext("model.t2v", "next");
    expect(await stateOf("model.t2v", "next")).toBe("completed");

    const plain = await runImport(flow);
    expect(plain.imported).toEqual([]);
    expect(plain.skipped.map((entry) => [entry.task_id, entry.state])).toEqual([
      ["take", "completed"],
      ["next", "completed"],
    ]);

    const again = await runImport([flow[0], seg("next", { depends_on: ["take"], prompt: "changed" })], true);
    expect(again.invalid).toEqual([]);
    expect(again.imported.map((entry) => [entry.task_id, entry.note, entry.flow])).toEqual([
      ["take", "rerun (was completed)", "next"],
      ["next", "rerun (was completed)", "next"],
    ]);
    expect(await stateOf("model.t2v", "take")).toMatch(/wait|prioritized/);
    expect(await stateOf("model.post.upscale", STEP)).toBe("waiting-children");
    expect(await stateOf("model.t2v", "next")).toBe("waiting-children");
    const next = await farm.queues.byName("model.t2v").getJob("next");
    expect(next?.data.task.prompt).toBe("changed");
    expect(next?.attemptsMade).toBe(0);
    expect((await farm.queues.byName("model.t2v").getJob("take"))?.parent?.id).toBe(STEP);
    // It runs through again, in order.
    await runNext("model.t2v", "take");
    await runNext("model.post.upscale", STEP);
    await runNext("model.t2v", "next");
    expect(await stateOf("model.t2v", "next")).toBe("completed");
  });

  it("runs a failed flow again from its start, the completed task included", async () => {
    await runImport(flow);
    await runNext("model.t2v", "take");
    await runNext("model.post.upscale", STEP, "upsampler crashed");
    // BullMQ hands the dependant's failure to whoever fetches it next (a deferred failure).
    await runNext("model.t2v", "next", `${STEP} failed: upsampler crashed`);
    const again = await runImport(flow, true);
    expect(again.imported.map((entry) => [entry.task_id, entry.note])).toEqual([
      ["take", "rerun (was completed)"],
      ["next", "rerun (was failed)"],
    ]);
    expect(await stateOf("model.post.upscale", STEP)).toBe("waiting-children");
    expect(await stateOf("model.t2v", "next")).toBe("waiting-children");
  });

  it("leaves a flow that still runs alone, even with --rerun", async () => {
    await runImport(flow);
    await runNext("model.t2v", "take");
    const again = await runImport(flow, true);
    expect(again.imported).toEqual([]);
    expect(again.skipped.map((entry) => [entry.task_id, entry.state])).toEqual([
      ["take", "completed"],
      ["next", "waiting-children"],
    ]);
    expect(await stateOf("model.post.upscale", STEP)).toMatch(/wait|prioritized/);
  });

  it("skips a re-imported flow that adopted a farm task still waiting, instead of refusing it", async () => {
    await runImport([seg("early")]);
    const second = [seg("later", { depends_on: ["early"] })];
    expect((await runImport(second)).imported.map((entry) => entry.task_id)).toEqual(["later"]);
    const again = await runImport(second);
    expect(again.invalid).toEqual([]);
    expect(again.skipped.map((entry) => [entry.task_id, entry.state])).toEqual([
      ["later", "waiting-children"],
    ]);
  });
});
