import { mkdir, readdir, readFile, stat, symlink } from "node:fs/promises";
import path from "node:path";
import { FarmStats, modelQueueName, SlotRegistry } from "@wgp-farm/queue";
import { describe, expect, it } from "vitest";
import type { ResultManifest, ResultSummary } from "../src/index.js";
import { sha256Of } from "../src/output/output-publisher.js";
import {
  importTasks,
  publishedFolders,
  stagedFolders,
  startWorker,
  t2vTask,
  testFarm,
  waitForJob,
} from "./support.js";

describe("a job's result", () => {
  it("publishes the files, task.json and result.json, and returns the manifest summary", async () => {
    const tf = await testFarm("manifest");
    await importTasks(tf, [
      t2vTask("lighthouse-1", {
        seed: 1234,
        output_sub_dir: "shots/lighthouse",
        resolution: "832x480",
        frames: 17,
      }),
    ]);
    await startWorker(tf, { env: { FAKE_WANGP_STEP_S: "0.02" } });
    const job = await waitForJob(tf, "lighthouse-1", modelQueueName("t2v"));
    expect(await job.getState()).toBe("completed");

    const outputDir = path.join(tf.outputDir, "shots", "lighthouse");
    const summary = job.returnvalue as ResultSummary;
    expect(summary).toMatchObject({
      status: "completed",
      output_dir: await import("node:fs/promises").then((fs) => fs.realpath(outputDir)),
      seed: 1234,
      model_type: "t2v",
      slot: "gpu0@test-host",
      host: "test-host",
      gpu_index: 0,
    });
    expect(Object.keys(summary.timings).sort()).toEqual(
      [
        "finished_at",
        "generation_s",
        "model_load_s",
        "queue_wait_s",
        "queued_at",
        "started_at",
        "total_s",
      ].sort(),
    );

    const names = (await readdir(outputDir)).sort();
    expect(names).toEqual([summary.main_file, "result.json", "task.json"].sort());
    expect(summary.main_file).toBe("lighthouse-1.mp4");
    const main = summary.files[0];
    expect(main).toBeDefined();
    expect(main?.size).toBe((await stat(path.join(outputDir, summary.main_file))).size);
    expect(main?.sha256).toBe(await sha256Of(path.join(outputDir, summary.main_file)));

    const manifest = JSON.parse(
      await readFile(path.join(outputDir, "result.json"), "utf8"),
    ) as ResultManifest;
    expect(manifest).toMatchObject({
      status: "completed",
      task_id: "lighthouse-1",
      seed: 1234,
      model_type: "t2v",
      files: summary.files,
      causvid: false,
      attempt: 1,
      worker: { name: "gpu0@test-host", host: "test-host", gpu_index: 0, pid: process.pid },
      engine: { adapter: "wangp" },
    });
    // Exactly what WanGP received: the task's fields under WanGP's names, plus what the bridge pins.
    expect(manifest.settings).toMatchObject({
      model_type: "t2v",
      num_inference_steps: 3,
      video_length: 17,
      resolution: "832x480",
      seed: 1234,
      multi_prompts_gen_type: "FG",
      output_filename: "lighthouse-1",
    });
    expect(manifest.engine.version).toMatch(/\d/);
    expect(manifest.timings.model_load_s).toBeGreaterThanOrEqual(0);

    const taskJson = JSON.parse(await readFile(path.join(outputDir, "task.json"), "utf8"));
    expect(taskJson.task).toMatchObject({
      task_id: "lighthouse-1",
      seed: 1234,
      output_sub_dir: "shots/lighthouse",
    });
    expect(taskJson.import).toMatchObject({ source: "test", seed_generated: false });

    // Nothing left behind in staging; progress and log reached the job; counters moved.
    expect(await stagedFolders(tf)).toEqual([]);
    expect(job.progress).toMatchObject({ slot: "gpu0@test-host" });
    const logs = await tf.farm.queues.byName(modelQueueName("t2v")).getJobLogs("lighthouse-1");
    expect(logs.logs.some((line) => line.startsWith("attempt 1 on gpu0@test-host"))).toBe(true);
    expect((await new FarmStats(tf.farm.redis, tf.farm.keys).read()).completed).toBe(1);
    const slots = await new SlotRegistry(tf.farm.redis, tf.farm.keys).list();
    expect(slots).toEqual([
      expect.objectContaining({
        slot_id: "gpu0@test-host",
        loaded_model: "t2v",
        jobs_done: 1,
        state: "idle",
      }),
    ]);
  });

  it("fails an invalid task at once, without retry, and keeps WanGP's message", async () => {
    const tf = await testFarm("invalid");
    // A LoRA WanGP cannot find is a validation error inside WanGP, after the model is known.
    await importTasks(tf, [t2vTask("bad-lora", { activated_loras: ["missing_style.safetensors"] })]);
    await startWorker(tf);
    const job = await waitForJob(tf, "bad-lora", modelQueueName("t2v"));
    expect(await job.getState()).toBe("failed");
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/^invalid: .*Loras/);
    expect(await publishedFolders(tf)).toEqual([]);
  });

  it("fails a task whose media is missing on this host before the engine sees it", async () => {
    const tf = await testFarm("media");
    const guide = path.join(tf.dir, "guide.mp4");
    await import("node:fs/promises").then((fs) => fs.writeFile(guide, "not a real video"));
    await importTasks(tf, [
      t2vTask("guided", { model: "vace_14B", video_guide_path: guide, video_prompt_type: "V" }),
    ]);
    await import("node:fs/promises").then((fs) => fs.rm(guide));
    await startWorker(tf);
    const job = await waitForJob(tf, "guided", modelQueueName("vace_14B"));
    expect(job.failedReason).toBe(
      `invalid: media not found on this worker: video_guide: file not found: ${guide}`,
    );
    expect(job.attemptsMade).toBe(1);
  });

  it("refuses to write through a symlink that leads outside the output root", async () => {
    const tf = await testFarm("confine");
    const outside = path.join(tf.dir, "outside");
    await mkdir(outside, { recursive: true });
    await mkdir(tf.outputDir, { recursive: true });
    await symlink(outside, path.join(tf.outputDir, "escape"));
    await importTasks(tf, [t2vTask("escaper", { output_sub_dir: "escape/result" })]);
    await startWorker(tf);
    const job = await waitForJob(tf, "escaper", modelQueueName("t2v"));
    expect(await job.getState()).toBe("failed");
    expect(job.failedReason).toMatch(
      /^invalid: output_sub_dir 'escape\/result' resolves to .* outside the main output dir/,
    );
    expect(job.attemptsMade).toBe(1);
    expect(await readdir(outside)).toEqual([]);
  });
});
