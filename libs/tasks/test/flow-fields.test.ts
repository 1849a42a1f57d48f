import { writeFile } from "node:fs/promises";
import path from "node:path";
import { temporaryDir } from "@wgp-farm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  isStitchTask,
  mediaTypeOfModel,
  postStepMediaProblem,
  type TaskIssue,
  TaskValidator,
  taskListJsonSchema,
} from "../src/index.js";

let media: { dir: string; remove: () => Promise<void> };
beforeAll(async () => {
  media = await temporaryDir("flow-media");
  await writeFile(path.join(media.dir, "song.wav"), "wav");
});
afterAll(() => media.remove());

const validator = () => new TaskValidator({ mediaRoot: media.dir });

async function errorsOf(raw: unknown): Promise<TaskIssue[]> {
  const verdict = await validator().validate(raw);
  if (verdict.ok) throw new Error(`expected an invalid task, got ${JSON.stringify(verdict.task)}`);
  return verdict.errors;
}

async function valid(raw: unknown) {
  const verdict = await validator().validate(raw);
  if (!verdict.ok) throw new Error(`expected a valid task, got ${JSON.stringify(verdict.errors)}`);
  return verdict.task;
}

const base = { task_id: "seg_02", prompt: "a cat walks on" };

describe("post-steps (then)", () => {
  it("normalises each step to WanGP's late post-processing parameters", async () => {
    const task = await valid({
      ...base,
      // biome-ignore lint/suspicious/noThenProperty: the task file's post-step field
      then: [
        { upscale: "Lanczos1.5" },
        { interpolate: "rife2" },
        { film_grain: 0.1 },
        { film_grain: { intensity: 0.2, saturation: 0.8 } },
        { soundtrack: "mmaudio" },
        { soundtrack: { method: "custom", audio: "song.wav" } },
      ],
    });
    expect(task.then).toEqual([
      { kind: "upscale", spatial_upsampling: "lanczos1.5" },
      { kind: "interpolate", temporal_upsampling: "rife2" },
      { kind: "film_grain", intensity: 0.1, saturation: 0.5 },
      { kind: "film_grain", intensity: 0.2, saturation: 0.8 },
      { kind: "soundtrack", postprocess_audio: "mmaudio" },
      { kind: "soundtrack", postprocess_audio: "custom", audio_source: path.join(media.dir, "song.wav") },
    ]);
  });

  it.each([
    [{ upscale: "bicubic2" }, "then[0].upscale", "is not a WanGP spatial upsampler"],
    [{ upscale: "lanczos5" }, "then[0].upscale", "lanczos scales by 1, 1.5, 2"],
    [{ interpolate: "rife_x2" }, "then[0].interpolate", "rife2, rife4"],
    [{ film_grain: 0 }, "then[0].film_grain", "intensity must be above 0"],
    [{ soundtrack: "custom" }, "then[0].soundtrack", "give 'audio'"],
    [{ soundtrack: "seedvc_one_speaker" }, "then[0].soundtrack", ""],
    [{ sharpen: 2 }, "then[0]", "must have exactly one of upscale, interpolate, film_grain, soundtrack"],
    [{ upscale: "lanczos2", interpolate: "rife2" }, "then[0]", "must have exactly one of"],
  ])("refuses %j at its field", async (step, field, message) => {
    // biome-ignore lint/suspicious/noThenProperty: the task file's post-step field
    const errors = await errorsOf({ ...base, then: [step] });
    expect(errors.some((e) => e.path.startsWith(field) && e.message.includes(message))).toBe(true);
  });

  it("says what source a step cannot take, by the model's media type", () => {
    expect(mediaTypeOfModel("t2v")).toBe("video");
    expect(mediaTypeOfModel("flux")).toBe("image");
    expect(mediaTypeOfModel("qwen_image_20B")).toBe("image");
    expect(mediaTypeOfModel("ace_step_v1")).toBe("audio");
    expect(postStepMediaProblem({ kind: "interpolate", temporal_upsampling: "rife2" }, "image")).toMatch(
      /needs a video/,
    );
    expect(postStepMediaProblem({ kind: "upscale", spatial_upsampling: "coz4" }, "video")).toMatch(
      /coz upscales image only/,
    );
    expect(
      postStepMediaProblem({ kind: "upscale", spatial_upsampling: "lanczos2" }, "image"),
    ).toBeUndefined();
  });
});

describe("dependencies and outputs of other tasks", () => {
  it("keeps a {from} reference in a media field (the worker resolves it)", async () => {
    const task = await valid({ ...base, depends_on: ["seg_01"], video_source: { from: "seg_01" } });
    expect(task).toMatchObject({ depends_on: ["seg_01"], video_source_path: { from: "seg_01" } });
  });

  it("refuses a {from} that is not a dependency, naming the field", async () => {
    const errors = await errorsOf({ ...base, video_source_path: { from: "seg_01" } });
    expect(errors).toContainEqual({
      path: "video_source_path.from",
      message: "'seg_01' is not in depends_on: add it there, so this task waits for its output",
    });
  });

  it("refuses a task that depends on itself, or names a task twice", async () => {
    expect(await errorsOf({ ...base, depends_on: ["seg_02"] })).toContainEqual({
      path: "depends_on",
      message: "a task cannot depend on itself ('seg_02')",
    });
    const twice = await errorsOf({ ...base, depends_on: ["a", "a"] });
    expect(twice.map((e) => e.path)).toContain("depends_on");
  });

  it("refuses user task ids that look like step jobs and models of the post-step queues", async () => {
    const id = await errorsOf({ ...base, task_id: "x--then-1-upscale" });
    expect(id[0]).toMatchObject({ path: "task_id", message: expect.stringContaining("--then-") });
    const model = await errorsOf({ ...base, model: "post.upscale" });
    expect(model[0]).toMatchObject({ path: "model", message: expect.stringContaining("use 'then'") });
  });
});

describe("stitch tasks", () => {
  it("takes a stitch without prompt or model", async () => {
    const task = await valid({ task_id: "travel", stitch: { from: ["a", "b", "c"], crossfade: 0.5 } });
    expect(isStitchTask(task)).toBe(true);
    expect(task).toMatchObject({
      task_id: "travel",
      stitch: { from: ["a", "b", "c"], crossfade: 0.5, reencode: true },
      output_sub_dir: "travel",
      priority: 100,
    });
  });

  it.each([
    [{ from: ["a"] }, "stitch.from", "at least two"],
    [{ from: ["a", "b"], crossfade: 0.5, reencode: false }, "stitch.crossfade", "needs reencode"],
    [{ from: ["a", "b"], crossfade: -1 }, "stitch.crossfade", "at least 0"],
    [{ from: ["travel", "b"] }, "stitch.from[0]", "its own output"],
  ])("refuses %j at its field", async (stitch, field, message) => {
    const errors = await errorsOf({ task_id: "travel", stitch });
    expect(errors.some((e) => e.path === field && e.message.includes(message))).toBe(true);
  });

  it("refuses WanGP settings on a stitch", async () => {
    const errors = await errorsOf({ task_id: "travel", stitch: { from: ["a", "b"] }, prompt: "x" });
    expect(errors.length).toBeGreaterThan(0);
  });

  it("lists stitch tasks and the flow fields in the JSON schema", () => {
    const schema = taskListJsonSchema() as { items: { anyOf: { properties: Record<string, unknown> }[] } };
    const [task, stitch] = schema.items.anyOf;
    expect(Object.keys(task?.properties ?? {})).toEqual(expect.arrayContaining(["then", "depends_on"]));
    expect(Object.keys(stitch?.properties ?? {})).toEqual(expect.arrayContaining(["stitch", "task_id"]));
  });
});
