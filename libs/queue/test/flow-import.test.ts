import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { readTaskRecords, type Task, TaskValidator } from "@wgp-farm/tasks";
import { temporaryDir, uniquePrefix } from "@wgp-farm/testing";
import { Worker } from "bullmq";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import {
  DEFAULT_RETRY_POLICY,
  DryRunTaskSink,
  FarmConnection,
  RedisTaskSink,
  resolveOutputRefs,
  STITCH_QUEUE,
  type StitchJobData,
  TaskImporter,
  type TaskSink,
} from "../src/index.js";

let farm: FarmConnection;
let media: { dir: string; remove: () => Promise<void> };

beforeEach(async () => {
  farm = await FarmConnection.open(inject("redisUrl"), uniquePrefix());
  media = await temporaryDir("flow-import");
});
afterEach(async () => {
  await farm.close();
  await media.remove();
});

async function runImport(tasks: unknown[], sink: TaskSink = new RedisTaskSink(farm, DEFAULT_RETRY_POLICY)) {
  const text = tasks.map((task) => JSON.stringify(task)).join("\n");
  return new TaskImporter(sink).import(
    readTaskRecords(Readable.from([Buffer.from(text)])),
    new TaskValidator({ mediaRoot: media.dir }),
    { source: "test" },
  );
}

const seg = (id: string, extra: Record<string, unknown> = {}) => ({
  task_id: id,
  prompt: `prompt ${id}`,
  ...extra,
});

/** Each job's BullMQ parent id (null for a flow root), as Redis holds it. */
async function parentOf(queue: string, id: string): Promise<string | null> {
  const job = await farm.queues.byName(queue).getJob(id);
  if (!job) throw new Error(`no job ${id} in ${queue}`);
  return job.parent?.id ?? null;
}

const travel = [
  seg("seg_01"),
  seg("seg_02", { depends_on: ["seg_01"], video_source: { from: "seg_01" } }),
  seg("seg_03", { depends_on: ["seg_02"], video_source: { from: "seg_02" } }),
  { task_id: "travel", stitch: { from: ["seg_01", "seg_02", "seg_03"], crossfade: 0.5 } },
];

describe("flows through the importer, on Redis", () => {
  it("maps chained segments and a stitch over all of them onto one chain", async () => {
    const report = await runImport(travel);
    expect(report.invalid).toEqual([]);
    expect(report.imported.map((e) => [e.task_id, e.queue, e.flow])).toEqual([
      ["seg_01", "model.t2v", "travel"],
      ["seg_02", "model.t2v", "travel"],
      ["seg_03", "model.t2v", "travel"],
      ["travel", STITCH_QUEUE, "travel"],
    ]);
    expect(await parentOf("model.t2v", "seg_01")).toBe("seg_02");
    expect(await parentOf("model.t2v", "seg_02")).toBe("seg_03");
    expect(await parentOf("model.t2v", "seg_03")).toBe("travel");
    expect(await parentOf(STITCH_QUEUE, "travel")).toBeNull();
    expect(await farm.queues.byName("model.t2v").getJobState("seg_01")).toMatch(/wait|prioritized/);
    expect(await farm.queues.byName("model.t2v").getJobState("seg_02")).toBe("waiting-children");
    const stitch = await farm.queues.byName(STITCH_QUEUE).getJob("travel");
    expect(stitch?.data).toMatchObject({
      kind: "stitch",
      sources: [{ task_id: "seg_01" }, { task_id: "seg_02" }, { task_id: "seg_03" }],
      crossfade_s: 0.5,
      reencode: true,
    });
    const second = await farm.queues.byName("model.t2v").getJob("seg_02");
    expect(second?.data.task.video_source_path).toEqual({ from: "seg_01" });
    expect(second?.opts).toMatchObject({
      failParentOnFailure: true,
      continueParentOnFailure: false,
      ignoreDependencyOnFailure: false,
      removeDependencyOnFailure: false,
    });
    expect(await farm.redis.hget(farm.keys.taskIndex, "travel")).toBe(STITCH_QUEUE);
  });

  it("maps parallel segments and a stitch onto a star, and post-steps onto a chain of step jobs", async () => {
    const report = await runImport([
      // biome-ignore lint/suspicious/noThenProperty: the task file's post-step field
      seg("a", { then: [{ upscale: "lanczos2" }, { interpolate: "rife2" }] }),
      seg("b"),
      { task_id: "joined", stitch: { from: ["a", "b"] } },
    ]);
    expect(report.invalid).toEqual([]);
    const up = "a--then-1-upscale";
    const rife = "a--then-2-interpolate";
    expect(await parentOf("model.t2v", "a")).toBe(up);
    expect(await parentOf("model.post.upscale", up)).toBe(rife);
    expect(await parentOf("model.post.interpolate", rife)).toBe("joined");
    expect(await parentOf("model.t2v", "b")).toBe("joined");
    const step = await farm.queues.byName("model.post.interpolate").getJob(rife);
    expect(step?.data).toMatchObject({
      kind: "step",
      task_id: rife,
      root_task_id: "a",
      index: 2,
      step: { kind: "interpolate", temporal_upsampling: "rife2" },
      source: { task_id: up },
      output_sub_dir: "a/then-2-interpolate",
    });
    const stitch = await farm.queues.byName(STITCH_QUEUE).getJob("joined");
    expect((stitch?.data as unknown as StitchJobData | undefined)?.sources).toEqual([
      { task_id: rife },
      { task_id: "b" },
    ]);
    expect(await farm.queues.knownModels()).toEqual(
      expect.arrayContaining(["post.interpolate", "post.upscale", "t2v"]),
    );
  });

  it("re-imports a flow idempotently: every task 'exists', nothing added twice", async () => {
    await runImport(travel);
    const counts = await farm.queues.byName("model.t2v").getJobCounts();
    const again = await runImport(travel);
    expect(again.imported).toEqual([]);
    expect(again.invalid).toEqual([]);
    expect(again.skipped.map((e) => [e.task_id, e.state])).toEqual([
      ["seg_01", expect.stringMatching(/waiting|prioritized/)],
      ["seg_02", "waiting-children"],
      ["seg_03", "waiting-children"],
      ["travel", "waiting-children"],
    ]);
    expect(await farm.queues.byName("model.t2v").getJobCounts()).toEqual(counts);
  });

  it("refuses a bad flow whole, naming task and field, and imports the good flow and tasks beside it", async () => {
    const report = await runImport([
      seg("ok_1"),
      seg("ok_2", { depends_on: ["ok_1"] }),
      seg("loop_a", { depends_on: ["loop_b"] }),
      seg("loop_b", { depends_on: ["loop_a"] }),
      seg("orphan", { depends_on: ["nobody"] }),
      seg("img", { model: "flux" }),
      seg("img_up", { depends_on: ["img"], video_source: { from: "img" } }),
      seg("plain"),
    ]);
    expect(report.imported.map((e) => e.task_id).sort()).toEqual(["ok_1", "ok_2", "plain"]);
    const errors = Object.fromEntries(report.invalid.map((e) => [e.task_id, e.errors]));
    expect(errors.loop_a).toEqual([
      { path: "depends_on[0]", message: "dependency cycle: loop_a → loop_b → loop_a" },
    ]);
    expect(errors.orphan).toEqual([
      { path: "depends_on[0]", message: "'nobody' is neither in this file nor known to the farm" },
    ]);
    expect(errors.img_up).toEqual([
      { path: "video_source_path.from", message: "'img' makes image, and video_source_path takes video" },
    ]);
    // The image task is part of the refused flow: nothing of that flow is queued.
    expect(errors.img?.[0]?.message).toMatch(
      /^not imported: its flow has errors \(img_up video_source_path.from/,
    );
    for (const id of ["loop_a", "loop_b", "orphan", "img", "img_up"]) {
      expect(await farm.redis.hget(farm.keys.taskIndex, id)).toBeNull();
    }
  });

  it("refuses a post-step the source cannot take, and a job two tasks would depend on", async () => {
    const report = await runImport([
      // biome-ignore lint/suspicious/noThenProperty: the task file's post-step field
      seg("pic", { model: "flux", then: [{ interpolate: "rife2" }] }),
      seg("root"),
      seg("left", { depends_on: ["root"] }),
      seg("right", { depends_on: ["root"] }),
    ]);
    expect(report.imported).toEqual([]);
    const errors = Object.fromEntries(report.invalid.map((e) => [e.task_id, e.errors]));
    expect(errors.pic).toEqual([
      { path: "then[0]", message: "interpolate needs a video, and this source makes an image" },
    ]);
    expect(errors.right?.[0]).toMatchObject({
      path: "depends_on[0]",
      message: expect.stringContaining("'root' is already needed by 'left'"),
    });
  });

  it("resolves a dependency on a completed farm task at import, and adopts an unfinished one", async () => {
    await runImport([seg("old"), seg("running")]);
    const worker = new Worker("model.t2v", null, { connection: farm.redis, prefix: farm.keys.prefix });
    const old = await worker.getNextJob("token", { block: false });
    expect(old?.id).toBe("old");
    await old?.moveToCompleted({ output_dir: "/out/old", main_file: "old.mp4" }, "token", false);
    await worker.close();
    const report = await runImport([
      seg("next", { depends_on: ["old"], video_source: { from: "old" } }),
      seg("after", { depends_on: ["running"] }),
      seg("failing", { depends_on: ["gone"] }),
    ]);
    expect(report.imported.map((e) => e.task_id).sort()).toEqual(["after", "next"]);
    expect(await farm.queues.byName("model.t2v").getJobState("next")).toMatch(/wait|prioritized/);
    expect(await parentOf("model.t2v", "running")).toBe("after");
    expect(await farm.queues.byName("model.t2v").getJobState("after")).toBe("waiting-children");

    const next = (await farm.queues.byName("model.t2v").getJob("next"))?.data.task as Task;
    const resolved = await resolveOutputRefs(farm, next);
    expect(resolved).toEqual({ task: { ...next, video_source_path: "/out/old/old.mp4" }, problems: [] });
    const early = await resolveOutputRefs(farm, {
      ...next,
      image_refs_paths: [{ from: "running" }, "/a.png"],
    });
    expect(early.problems).toEqual([
      expect.stringMatching(/^running is (waiting|prioritized), not completed$/),
    ]);
  });

  it("reports flows in a dry run without touching Redis", async () => {
    const report = await runImport(travel, new DryRunTaskSink());
    expect(report.imported.map((e) => [e.task_id, e.flow])).toEqual([
      ["seg_01", "travel"],
      ["seg_02", "travel"],
      ["seg_03", "travel"],
      ["travel", "travel"],
    ]);
    expect(await farm.redis.hlen(farm.keys.taskIndex)).toBe(0);
  });

  it("plans the examples: a travel flow and a generate-then-upscale task", async () => {
    const examples = new URL("../../../examples/", import.meta.url);
    const read = async (name: string) =>
      JSON.parse(await readFile(new URL(name, examples), "utf8")) as unknown[];
    const travelReport = await runImport(await read("travel-flow.json"));
    expect(travelReport.invalid).toEqual([]);
    expect(new Set(travelReport.imported.map((e) => e.flow))).toEqual(new Set(["travel--then-2-soundtrack"]));
    expect(await parentOf("model.vace_14B", "travel_seg_03")).toBe("travel");
    expect(await parentOf(STITCH_QUEUE, "travel")).toBe("travel--then-1-interpolate");
    const take = await runImport(await read("generate-then-upscale.json"));
    expect(take.imported).toEqual([
      expect.objectContaining({
        task_id: "lighthouse_take_01",
        flow: "lighthouse_take_01--then-3-film_grain",
      }),
    ]);
  });
});
