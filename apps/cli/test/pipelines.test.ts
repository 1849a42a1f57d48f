import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { FarmConnection, findTask } from "@wgp-farm/queue";
import { copyOfFakeWangp, probeVideo, temporaryDir, uniquePrefix, waitUntil } from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { isRunning, killProcessGroup, runCli, startCli } from "./run-cli.js";

/**
 * Pipelines end to end (issue 17): task files through `wgp-farm import-tasks`, run by the real
 * `wgp-farm worker` (engine-py on the WanGP double, writing real videos with ffmpeg), read back with
 * `status`, steered with `cancel`, `retry` and `postprocess`; frame counts checked with ffprobe.
 */
interface Sandbox {
  dir: string;
  wangp: string;
  outputDir: string;
  prefix: string;
  farm: FarmConnection;
}

let box: Sandbox;
let remove: () => Promise<void>;
const workers: ReturnType<typeof startCli>[] = [];
const FLOW_TIMEOUT_MS = 150_000;

beforeEach(async () => {
  const temp = await temporaryDir("pipelines");
  remove = temp.remove;
  const prefix = uniquePrefix("pipes");
  box = {
    dir: temp.dir,
    wangp: await copyOfFakeWangp(temp.dir),
    outputDir: path.join(temp.dir, "out"),
    prefix,
    farm: await FarmConnection.open(inject("redisUrl"), prefix),
  };
});
afterEach(async () => {
  for (const child of workers.splice(0)) if (isRunning(child)) killProcessGroup(child);
  await box.farm.close();
  await remove();
});

const farmArgs = () => ["--redis-url", inject("redisUrl"), "--prefix", box.prefix];

/** The real worker: two GPU slots on virtual indices (no nvidia-smi), a CPU stitcher, real videos. */
function startWorker(): void {
  const child = startCli(
    [
      "worker",
      "--wangp-root",
      box.wangp,
      "--main-output-dir",
      box.outputDir,
      "--state-dir",
      path.join(box.dir, "state"),
      "--slots",
      "2",
      "--name",
      "pipes",
      "--lock-duration-ms",
      "5000",
      "--stalled-interval-ms",
      "2000",
      ...farmArgs(),
    ],
    {
      cwd: box.dir,
      env: { WGP_FARM_FAKE_MEDIA: "ffmpeg", FAKE_WANGP_STEP_S: "0.01", PYTHONDONTWRITEBYTECODE: "1" },
      ownProcessGroup: true,
    },
  );
  child.stdin?.end();
  workers.push(child);
}

async function importFile(tasks: unknown[], extra: string[] = []) {
  const file = path.join(box.dir, `tasks-${Date.now()}.json`);
  await writeFile(file, JSON.stringify(tasks));
  const result = await runCli(["import-tasks", file, "--attempts", "1", "--json", ...extra, ...farmArgs()]);
  expect(result.stderr).toBe("");
  return JSON.parse(result.stdout) as {
    imported: { task_id: string; flow?: string }[];
    invalid: unknown[];
  };
}

async function stateOf(taskId: string): Promise<string | undefined> {
  return (await findTask(box.farm, taskId, { logLines: 0 }))?.state;
}

async function untilState(taskId: string, state: string): Promise<void> {
  await waitUntil(async () => (await stateOf(taskId)) === state, FLOW_TIMEOUT_MS);
}

/** The main file a completed job published. */
async function mainFileOf(taskId: string): Promise<string> {
  const task = await findTask(box.farm, taskId, { logLines: 0 });
  const result = task?.result as { output_dir: string; main_file: string };
  return path.join(result.output_dir, result.main_file);
}

const segment = (id: string, frames: number, extra: Record<string, unknown> = {}) => ({
  task_id: id,
  prompt: `a lighthouse in a storm (${id})`,
  model: "t2v",
  resolution: "64x48",
  frames,
  steps: 2,
  ...extra,
});

describe("pipelines end to end, with the real worker and the WanGP double", { timeout: 240_000 }, () => {
  it("generate → upscale → interpolate: each step a job on the output of the one before", async () => {
    const report = await importFile([
      // biome-ignore lint/suspicious/noThenProperty: the task file's post-step field
      segment("take", 9, { then: [{ upscale: "lanczos2" }, { interpolate: "rife2" }] }),
    ]);
    expect(report.imported).toEqual([
      expect.objectContaining({ task_id: "take", flow: "take--then-2-interpolate" }),
    ]);
    startWorker();
    await untilState("take--then-2-interpolate", "completed");
    const generated = await probeVideo(await mainFileOf("take"));
    const upscaled = await probeVideo(await mainFileOf("take--then-1-upscale"));
    const interpolated = await probeVideo(await mainFileOf("take--then-2-interpolate"));
    expect(upscaled).toMatchObject({ width: generated.width * 2, height: generated.height * 2 });
    expect(interpolated.frames).toBeGreaterThan(upscaled.frames);
    expect(await mainFileOf("take--then-1-upscale")).toContain(path.join("take", "then-1-upscale"));
    const status = await runCli(["status", "take", ...farmArgs()]);
    expect(status.stdout).toContain("take--then-2-interpolate [step]: completed");
  });

  it("three chained segments → stitch: the stitched video has the sum of their frames", async () => {
    const report = await importFile([
      segment("seg_01", 9),
      segment("seg_02", 13, { depends_on: ["seg_01"], video_source: { from: "seg_01" } }),
      segment("seg_03", 17, { depends_on: ["seg_02"], video_source: { from: "seg_02" } }),
      { task_id: "travel", stitch: { from: ["seg_01", "seg_02", "seg_03"], reencode: true } },
    ]);
    expect(report.invalid).toEqual([]);
    startWorker();
    await untilState("travel", "completed");
    const frames = await Promise.all(
      ["seg_01", "seg_02", "seg_03"].map(async (id) => (await probeVideo(await mainFileOf(id))).frames),
    );
    const stitched = await probeVideo(await mainFileOf("travel"));
    expect(stitched.frames).toBe(frames.reduce((sum, n) => sum + n, 0));
    // Each continuation was given the file its dependency published.
    const third = JSON.parse(await readFile(path.join(box.outputDir, "seg_03", "result.json"), "utf8")) as {
      settings: Record<string, unknown>;
    };
    expect(third.settings.video_source).toBe(await mainFileOf("seg_02"));
    const status = await runCli(["status", "seg_01", ...farmArgs()]);
    expect(status.stdout).toMatch(
      /travel \[stitch\]: completed\n\s+└─ seg_03: completed\n\s+└─ seg_02: completed\n\s+└─ seg_01: completed {2}◀/,
    );
  });

  it("a failing middle segment fails the stitch with its reason; the other segments complete", async () => {
    await importFile([
      segment("par_01", 9),
      segment("par_02", 9, { prompt: "a storm [fake:error]" }),
      segment("par_03", 9),
      { task_id: "joined", stitch: { from: ["par_01", "par_02", "par_03"] } },
    ]);
    startWorker();
    await untilState("joined", "failed");
    await waitUntil(
      async () => (await stateOf("par_03")) === "completed" && (await stateOf("par_01")) === "completed",
      FLOW_TIMEOUT_MS,
    );
    const tree = (await findTask(box.farm, "joined", { logLines: 0 }))?.flow;
    expect(tree?.failed_reason).toMatch(/^par_02 failed: /);
    expect(tree?.children.map((child) => [child.task_id, child.state])).toEqual([
      ["par_01", "completed"],
      ["par_02", "failed"],
      ["par_03", "completed"],
    ]);
  });

  it("a failing segment in a chain fails the segments after it without running them, and the stitch", async () => {
    await importFile([
      segment("ch_01", 9),
      segment("ch_02", 9, { prompt: "a storm [fake:error]", depends_on: ["ch_01"] }),
      segment("ch_03", 9, { depends_on: ["ch_02"], video_source: { from: "ch_02" } }),
      { task_id: "ch_travel", stitch: { from: ["ch_01", "ch_02", "ch_03"] } },
    ]);
    startWorker();
    await untilState("ch_travel", "failed");
    const third = await findTask(box.farm, "ch_03", { logLines: 0 });
    expect(third?.errors.at(-1)?.message).toMatch(/ch_02 failed: /);
    expect(third?.started_at).not.toBeNull();
    const refused = await runCli(["retry", "ch_03", ...farmArgs()]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("retry that task, and the flow resumes from there");
  });

  it("cancel inside a flow cancels what depends on it; retry runs it and the flow completes", async () => {
    await importFile([
      segment("c_01", 9),
      segment("c_02", 9, { depends_on: ["c_01"] }),
      { task_id: "c_travel", stitch: { from: ["c_01", "c_02"] } },
    ]);
    const cancelled = await runCli(["cancel", "c_01", "--reason", "wrong seed", ...farmArgs()]);
    expect(cancelled.stdout).toContain(
      "cancelled    c_01 (was prioritized; removed from its queue); with it: c_02, c_travel",
    );
    expect(await stateOf("c_travel")).toBe("failed");
    startWorker();
    const retried = await runCli(["retry", "c_01", ...farmArgs()]);
    expect(retried.stdout).toContain("retried      c_01 (was failed) → model.t2v; resumes c_02, c_travel");
    await untilState("c_travel", "completed");
    expect((await probeVideo(await mainFileOf("c_travel"))).frames).toBe(18);
  });

  it("--rerun of a finished flow runs the task and its step again; the step's folder is its own result", async () => {
    // biome-ignore lint/suspicious/noThenProperty: the task file's post-step field
    const flow = [segment("again", 9, { then: [{ upscale: "lanczos2" }] })];
    await importFile(flow);
    startWorker();
    await untilState("again--then-1-upscale", "completed");
    const finishedAt = async (id: string) => (await findTask(box.farm, id, { logLines: 0 }))?.finished_at;
    const before = { take: await finishedAt("again"), step: await finishedAt("again--then-1-upscale") };
    const rerun = await importFile(flow, ["--rerun"]);
    expect(rerun.imported).toEqual([
      expect.objectContaining({
        task_id: "again",
        note: "rerun (was completed)",
        flow: "again--then-1-upscale",
      }),
    ]);
    await waitUntil(
      async () =>
        (await stateOf("again--then-1-upscale")) === "completed" &&
        (await finishedAt("again--then-1-upscale")) !== before.step,
      FLOW_TIMEOUT_MS,
    );
    expect(await finishedAt("again")).not.toBe(before.take);
    // One result per job: the task's folder holds its new files and its step's folder, made from them.
    const manifest = JSON.parse(
      await readFile(path.join(box.outputDir, "again", "then-1-upscale", "result.json"), "utf8"),
    ) as { source: { file: string } };
    expect(manifest.source.file).toBe(await mainFileOf("again"));
    expect(await probeVideo(await mainFileOf("again--then-1-upscale"))).toMatchObject({
      width: 128,
      height: 96,
    });
  });

  it("a re-run of a task keeps the folder of a step added to it later (postprocess)", async () => {
    await importFile([segment("kept", 9)]);
    startWorker();
    await untilState("kept", "completed");
    await runCli(["postprocess", "kept", "--upscale", "lanczos2", ...farmArgs()]);
    await untilState("kept--then-1-upscale", "completed");
    const stepResult = path.join(box.outputDir, "kept", "then-1-upscale", "result.json");
    const stepManifest = await readFile(stepResult, "utf8");
    const generatedAt = (await findTask(box.farm, "kept", { logLines: 0 }))?.finished_at;
    const rerun = await importFile([segment("kept", 9)], ["--rerun"]);
    expect(rerun.imported).toEqual([
      expect.objectContaining({ task_id: "kept", note: "rerun (was completed)" }),
    ]);
    await waitUntil(async () => {
      const task = await findTask(box.farm, "kept", { logLines: 0 });
      return task?.state === "completed" && task.finished_at !== generatedAt;
    }, FLOW_TIMEOUT_MS);
    // The step's result is the step's, as its attempt published it: not dropped, not taken into the task's result.
    expect(await readFile(stepResult, "utf8")).toBe(stepManifest);
    const taskManifest = JSON.parse(
      await readFile(path.join(box.outputDir, "kept", "result.json"), "utf8"),
    ) as {
      files: { name: string }[];
    };
    expect(taskManifest.files.map((file) => file.name).filter((name) => name.startsWith("then-"))).toEqual(
      [],
    );
  });

  it("postprocess of an old task: a step on its output, no new generation", async () => {
    await importFile([segment("old_take", 9)]);
    startWorker();
    await untilState("old_take", "completed");
    const generatedAt = (await findTask(box.farm, "old_take", { logLines: 0 }))?.finished_at;
    const added = await runCli(["postprocess", "old_take", "--upscale", "lanczos2", ...farmArgs()]);
    expect(added.stdout).toBe("queued       old_take--then-1-upscale\n");
    await untilState("old_take--then-1-upscale", "completed");
    const upscaled = await probeVideo(await mainFileOf("old_take--then-1-upscale"));
    expect(upscaled).toMatchObject({ width: 128, height: 96 });
    expect((await findTask(box.farm, "old_take", { logLines: 0 }))?.finished_at).toBe(generatedAt);
    const manifest = JSON.parse(
      await readFile(path.join(box.outputDir, "old_take", "then-1-upscale", "result.json"), "utf8"),
    ) as { source: { task_id: string; file: string }; step: Record<string, unknown> };
    expect(manifest.source).toMatchObject({ task_id: "old_take", file: await mainFileOf("old_take") });
    expect(manifest.step).toMatchObject({ root_task_id: "old_take", index: 1, kind: "upscale" });
  });
});
