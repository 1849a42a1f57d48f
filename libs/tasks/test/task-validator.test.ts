import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { temporaryDir } from "@wgp-farm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  isStitchTask,
  KNOWN_MODEL_TYPES,
  type Task,
  type TaskIssue,
  TaskValidator,
  WANGP_CATALOG,
  WANGP_MEDIA_KEYS,
  WANGP_SETTING_NAMES,
  wangpLoraSubdir,
} from "../src/index.js";

const EXAMPLES_DIR = fileURLToPath(new URL("../../../examples/", import.meta.url));

let media: { dir: string; remove: () => Promise<void> };
beforeAll(async () => {
  media = await temporaryDir("media");
  await mkdir(path.join(media.dir, "clips"));
  await writeFile(path.join(media.dir, "clips", "guide.mp4"), "not really a video");
  await writeFile(path.join(media.dir, "start.png"), "png");
});
afterAll(() => media.remove());

function validator(options: { strict?: boolean } = {}): TaskValidator {
  return new TaskValidator({ mediaRoot: media.dir, ...options });
}

const base = { task_id: "a-task", prompt: "a cat" };

async function errorsOf(raw: unknown, v = validator()): Promise<TaskIssue[]> {
  const verdict = await v.validate(raw);
  if (verdict.ok) throw new Error(`expected an invalid task, got ${JSON.stringify(verdict.task)}`);
  return verdict.errors;
}

/** A valid generation task's verdict (a stitch task is another shape). */
type GenerationVerdict = { ok: true; task: Task; warnings: TaskIssue[] };

async function validTask(raw: unknown, v = validator()): Promise<GenerationVerdict> {
  const verdict = await v.validate(raw);
  if (!verdict.ok) throw new Error(`expected a valid task, got ${JSON.stringify(verdict.errors)}`);
  if (isStitchTask(verdict.task)) throw new Error("expected a generation task, got a stitch");
  return { ...verdict, task: verdict.task };
}

describe("the seed example", () => {
  it("passes verbatim, media paths resolved against the file's folder", async () => {
    const tasks = JSON.parse(await readFile(path.join(EXAMPLES_DIR, "tasks.json"), "utf8")) as unknown[];
    const v = new TaskValidator({ mediaRoot: EXAMPLES_DIR });
    const verdicts = await Promise.all(tasks.map((task) => v.validate(task)));
    expect(verdicts.map((verdict) => verdict.ok)).toEqual([true, true]);
    const [causvid, vace] = verdicts as GenerationVerdict[];
    expect(causvid?.task).toMatchObject({
      task_id: "causvid_lora_example_001",
      seed: 2024,
      output_sub_dir: "causvid_cyberpunk_city",
    });
    expect(vace?.task.video_guide_path).toBe(path.join(EXAMPLES_DIR, "path/to/your/video.mp4"));
    expect(vace?.warnings).toEqual([]);
  });
});

describe("task_id", () => {
  it.each([
    [{ prompt: "x" }, "is required"],
    [{ ...base, task_id: "a:b" }, "must not contain ':'"],
    [{ ...base, task_id: "12345" }, "must not be made only of digits"],
    [{ ...base, task_id: "bad\u0007bell" }, "must not contain control characters"],
    [{ ...base, task_id: "x".repeat(129) }, "at most 128 characters"],
    [{ ...base, task_id: 42 }, "must be a unique id for the task (a string), got a number"],
  ])("%j is refused: %s", async (raw, message) => {
    const errors = await errorsOf(raw);
    expect(errors).toContainEqual({ path: "task_id", message: expect.stringContaining(message) });
  });

  it("a later duplicate inside one file is invalid, the first one stays valid", async () => {
    const v = validator();
    await validTask({ ...base, task_id: "dup" }, v);
    const errors = await errorsOf({ ...base, task_id: "dup", prompt: "another" }, v);
    expect(errors).toContainEqual({
      path: "task_id",
      message: expect.stringContaining("duplicate task_id 'dup'"),
    });
  });

  it("is derived from the content when asked, the same for the same task in any key order", async () => {
    const v = new TaskValidator({ mediaRoot: media.dir, deriveMissingIds: true });
    const first = await validTask({ prompt: "same", seed: 3 }, v);
    expect(first.task.task_id).toMatch(/^task-[0-9a-f]{20}$/);
    const again = await v.validate({ seed: 3, prompt: "same" });
    expect(again.ok).toBe(false);
    expect(again.ok ? [] : again.errors).toContainEqual({
      path: "task_id",
      message: expect.stringContaining("duplicate"),
    });
  });
});

describe("prompt and numbers", () => {
  it.each([
    [{ task_id: "t1" }, "prompt", "is required"],
    [{ ...base, prompt: "   " }, "prompt", "must not be empty"],
    [{ ...base, prompt: "a\u0000b" }, "prompt", "must not contain control characters"],
    [{ ...base, steps: "12" }, "steps", "whole number of denoising steps, got a string"],
    [{ ...base, resolution: "960*544" }, "resolution", "'WIDTHxHEIGHT'"],
    [{ ...base, resolution: "8x8" }, "resolution", "between 16 and 8192"],
    [{ ...base, frames: 81.5 }, "frames", "whole number"],
    [{ ...base, frames: 0 }, "frames", "at least 1"],
    [{ ...base, frames: 10_000_000 }, "frames", "at most 10000"],
    [{ ...base, seed: -5 }, "seed", "must be -1 (random)"],
    [{ ...base, seed: "7" }, "seed", "whole number"],
    [{ ...base, priority: 0 }, "priority", "at least 1"],
    [{ ...base, steps: 0 }, "steps", "at least 1"],
    [{ ...base, guidance_scale: "high" }, "guidance_scale", "must be a number"],
    [{ ...base, use_causvid_lora: "yes" }, "use_causvid_lora", "true or false"],
    [{ ...base, model: "t2v:evil" }, "model", "WanGP model type"],
    [{ ...base, video_prompt_type: "vm" }, "video_prompt_type", "upper-case"],
    [{ ...base, activated_loras: [""] }, "activated_loras[0]", "must not be empty"],
  ])("%j → %s %s", async (raw, field, message) => {
    const errors = await errorsOf(raw);
    expect(errors).toContainEqual({ path: field, message: expect.stringContaining(message) });
  });

  it("a task that is not an object is refused as a whole", async () => {
    expect(await errorsOf(["not", "a", "task"])).toEqual([
      { path: "", message: "a task must be a JSON object, got a list" },
    ]);
  });

  it("draws a concrete seed for a missing or -1 seed, and keeps a given one", async () => {
    const drawn = await validTask({ ...base, task_id: "s1", seed: -1 });
    expect(Number.isInteger(drawn.task.seed) && drawn.task.seed >= 0).toBe(true);
    expect((await validTask({ ...base, task_id: "s2" })).task.seed).toBeGreaterThanOrEqual(0);
    expect((await validTask({ ...base, task_id: "s3", seed: 0 })).task.seed).toBe(0);
  });

  it("fills defaults: model t2v, priority 100, output folder = task_id", async () => {
    const { task } = await validTask(base);
    expect(task).toMatchObject({ model: "t2v", priority: 100, output_sub_dir: "a-task" });
  });
});

describe("output_sub_dir", () => {
  it.each([
    ["../escape", "must not contain '..'"],
    ["a/../../b", "must not contain '..'"],
    ["/etc", "not an absolute path"],
    ["C:/Windows", "not an absolute path"],
    ["a\\b", "'/' between folders"],
    ["nul\u0000byte", "control characters"],
    [".", "not the dir itself"],
    [".wgp-farm-staging/x", "reserved"],
    // 300 bytes in 100 characters: file systems count bytes (found by the chaos suite: ENAMETOOLONG on the worker).
    [`long/${"長".repeat(100)}`, "at most 255 bytes per name"],
  ])("%j is refused (%s)", async (subDir, message) => {
    const errors = await errorsOf({ ...base, output_sub_dir: subDir });
    expect(errors).toContainEqual({ path: "output_sub_dir", message: expect.stringContaining(message) });
  });

  it("is normalised", async () => {
    expect((await validTask({ ...base, output_sub_dir: "./batch//one/" })).task.output_sub_dir).toBe(
      "batch/one",
    );
  });

  it("a folder name of 255 bytes is fine", async () => {
    const subDir = `ok/${"é".repeat(127)}x`;
    expect((await validTask({ ...base, output_sub_dir: subDir })).task.output_sub_dir).toBe(subDir);
  });

  it("a task_id too long in bytes for a folder name asks for output_sub_dir", async () => {
    const errors = await errorsOf({ ...base, task_id: "東".repeat(100) });
    expect(errors).toContainEqual({
      path: "task_id",
      message: expect.stringContaining("set output_sub_dir"),
    });
  });

  it("a task_id that cannot be a folder asks for output_sub_dir", async () => {
    const errors = await errorsOf({ ...base, task_id: ".." });
    expect(errors).toContainEqual({
      path: "task_id",
      message: expect.stringContaining("set output_sub_dir"),
    });
  });

  it("two tasks of one file cannot share an output folder", async () => {
    const v = validator();
    await validTask({ ...base, task_id: "one", output_sub_dir: "shared" }, v);
    const errors = await errorsOf({ ...base, task_id: "two", output_sub_dir: "shared" }, v);
    expect(errors).toContainEqual({
      path: "output_sub_dir",
      message: expect.stringContaining("already used by task 'one'"),
    });
  });
});

describe("media paths", () => {
  it("resolve against the media root, are stored absolute, and lists are accepted", async () => {
    const { task } = await validTask({
      ...base,
      video_guide_path: "clips/guide.mp4",
      image_start_paths: "start.png",
      image_refs_paths: ["start.png", path.join(media.dir, "clips/guide.mp4")],
    });
    expect(task.video_guide_path).toBe(path.join(media.dir, "clips/guide.mp4"));
    expect(task.image_start_paths).toEqual([path.join(media.dir, "start.png")]);
    expect(task.image_refs_paths).toEqual([
      path.join(media.dir, "start.png"),
      path.join(media.dir, "clips/guide.mp4"),
    ]);
  });

  it("a missing file names the task field and the path", async () => {
    const errors = await errorsOf({
      ...base,
      video_mask_path: "clips/missing.mp4",
      image_refs_paths: ["start.png", "gone.png"],
    });
    expect(errors).toEqual([
      {
        path: "video_mask_path",
        message: expect.stringContaining(`file not found: ${path.join(media.dir, "clips/missing.mp4")}`),
      },
      { path: "image_refs_paths[1]", message: expect.stringContaining("gone.png") },
    ]);
  });

  it("WanGP's own media keys are checked too, and URLs of other schemes than https/s3 are refused", async () => {
    const errors = await errorsOf({
      ...base,
      image_guide: "nope.png",
      audio_guide_path: "ftp://example.com/a.wav",
    });
    expect(errors.map((e) => e.path).sort()).toEqual(["audio_guide_path", "image_guide"]);
    expect(errors.find((e) => e.path === "audio_guide_path")?.message).toContain("https:// or s3://");
  });

  it("keep WanGP's virtual-media suffix", async () => {
    const { task } = await validTask({
      ...base,
      video_guide_path: "clips/guide.mp4|start_frame=4,end_frame=20",
    });
    expect(task.video_guide_path).toBe(
      `${path.join(media.dir, "clips/guide.mp4")}|start_frame=4,end_frame=20`,
    );
  });

  it("a path through a symlink is fine (media are only read)", async () => {
    await symlink(path.join(media.dir, "start.png"), path.join(media.dir, "link.png"));
    expect((await validTask({ ...base, image_start_paths: "link.png" })).task.image_start_paths).toEqual([
      path.join(media.dir, "link.png"),
    ]);
  });
});

describe("continue-video", () => {
  it("'L' in image_prompt_type is refused and the message names 'V' with video_source", async () => {
    const errors = await errorsOf({ ...base, model: "i2v", image_prompt_type: "SL" });
    expect(errors).toEqual([{ path: "image_prompt_type", message: expect.stringContaining("'L'") }]);
    expect(errors[0]?.message).toMatch(/'V' and set video_source/);
  });

  it("'V' with a video_source continues that video", async () => {
    const { task } = await validTask({
      ...base,
      model: "i2v",
      image_prompt_type: "V",
      video_source: "clips/guide.mp4",
    });
    expect(task.video_source_path).toBe(path.join(media.dir, "clips", "guide.mp4"));
  });
});

describe("the WanGP catalog", () => {
  it("is read from the one JSON file, with the WanGP it was generated from", () => {
    expect(WANGP_CATALOG.wangp.version).toMatch(/^\d+\.\d+/);
    expect(WANGP_SETTING_NAMES.has("video_length")).toBe(true);
    expect(WANGP_MEDIA_KEYS).toContain("video_guide");
    expect(KNOWN_MODEL_TYPES.has("vace_14B")).toBe(true);
  });

  it("gives each model the LoRA folder its family handler computes", () => {
    expect(wangpLoraSubdir("t2v")).toBe("wan");
    expect(wangpLoraSubdir("vace_14B")).toBe("wan");
    expect(wangpLoraSubdir("t2v_1.3B")).toBe("wan_1.3B");
    expect(wangpLoraSubdir("fun_inp_1.3B")).toBe("wan_i2v");
    expect(wangpLoraSubdir("animate")).toBe("wan_i2v");
    expect(wangpLoraSubdir("scail")).toBe("wan_i2v");
    expect(wangpLoraSubdir("lucy_edit")).toBe("wan_5B");
    expect(wangpLoraSubdir("animate2")).toBe("wan_animate2");
    expect(wangpLoraSubdir("no_such_model")).toBeUndefined();
  });
});

describe("unknown fields", () => {
  it("are a warning with the closest known name", async () => {
    const verdict = await validTask({ ...base, stpes: 20 });
    expect(verdict.warnings).toEqual([{ path: "stpes", message: "unknown field, did you mean 'steps'?" }]);
    expect(verdict.task).not.toHaveProperty("stpes");
  });

  it("are errors with --strict", async () => {
    const errors = await errorsOf({ ...base, guidance_sacle: 3 }, validator({ strict: true }));
    expect(errors).toEqual([
      { path: "guidance_sacle", message: "unknown field, did you mean 'guidance_scale'?" },
    ]);
  });

  it("known WanGP settings pass through; WanGP names of task fields are accepted", async () => {
    const { task, warnings } = await validTask({
      ...base,
      sample_solver: "euler",
      video_length: 49,
      model_type: "t2v_1.3B",
    });
    expect(warnings).toEqual([]);
    expect(task).toMatchObject({ sample_solver: "euler", frames: 49, model: "t2v_1.3B" });
  });

  it("a field given under both names is refused", async () => {
    const errors = await errorsOf({ ...base, frames: 81, video_length: 49 });
    expect(errors).toContainEqual({
      path: "video_length",
      message: "give either 'frames' or 'video_length', not both",
    });
  });

  it("settings wgp-farm controls are ignored with a warning", async () => {
    const { task, warnings } = await validTask({
      ...base,
      output_filename: "../../x",
      multi_prompts_gen_type: "PG",
    });
    expect(task).not.toHaveProperty("output_filename");
    expect(warnings.map((w) => w.path)).toEqual(["output_filename", "multi_prompts_gen_type"]);
  });

  it("an unknown model is a warning with a suggestion", async () => {
    const { warnings } = await validTask({ ...base, model: "vace_14b" });
    expect(warnings).toEqual([
      { path: "model", message: expect.stringContaining("did you mean 'vace_14B'?") },
    ]);
  });
});
