import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  CancelChannel,
  type PostStep,
  PublishClaims,
  postStepModelType,
  STITCH_QUEUE,
  type StepJobData,
  type StitchJobData,
  stepJobId,
  stepOutputSubDir,
  type TaskImportInfo,
} from "@wgp-farm/queue";
import { Bucket } from "@wgp-farm/storage";
import { S3TestServer } from "@wgp-farm/storage/test-server";
import { isStitchTask, type Task, TaskValidator } from "@wgp-farm/tasks";
import { probeVideo } from "@wgp-farm/testing";
import { type FlowJob, FlowProducer, type Queue } from "bullmq";
import { describe, expect, it } from "vitest";
import type { ResultSummary } from "../src/index.js";
import { startWorker, type TestFarm, t2vTask, testFarm, waitForJob } from "./support.js";

/**
 * Pipelines on the worker (issue 17): post-steps on GPU slots and stitches on the worker's CPU,
 * put straight into their queues as BullMQ flows (parents wait for their children), with the WanGP
 * double writing real videos (WGP_FARM_FAKE_MEDIA=ffmpeg) checked with ffprobe.
 */
const REAL_MEDIA = { WGP_FARM_FAKE_MEDIA: "ffmpeg" };
const IMPORT: TaskImportInfo = {
  source: "test",
  imported_at: new Date(0).toISOString(),
  seed_generated: false,
  warnings: [],
};
const JOB_OPTIONS = {
  attempts: 2,
  backoff: { type: "fixed", delay: 50 },
  removeOnComplete: false,
  removeOnFail: false,
};
const FLOW_TIMEOUT_MS = 120_000;

async function taskOf(raw: Record<string, unknown>): Promise<Task> {
  const verdict = await new TaskValidator({ mediaRoot: "/" }).validate(raw);
  if (!verdict.ok || isStitchTask(verdict.task)) throw new Error(JSON.stringify(verdict));
  return verdict.task;
}

async function generation(taskId: string, frames: number, extra: Partial<Task> = {}): Promise<FlowJob> {
  const task = { ...(await taskOf(t2vTask(taskId, { resolution: "64x48", frames }))), ...extra };
  return {
    name: taskId,
    queueName: "model.t2v",
    data: { task, import: IMPORT },
    opts: { jobId: taskId, ...JOB_OPTIONS },
  };
}

function step(root: string, index: number, post: PostStep, source: string, children: FlowJob[]): FlowJob {
  const taskId = stepJobId(root, index, post.kind);
  const data: StepJobData = {
    kind: "step",
    task_id: taskId,
    root_task_id: root,
    index,
    step: post,
    source: { task_id: source },
    output_sub_dir: stepOutputSubDir(root, index, post.kind),
    priority: 0,
    import: IMPORT,
  };
  const queueName = `model.${postStepModelType(post.kind)}`;
  return { name: taskId, queueName, data, opts: { jobId: taskId, ...JOB_OPTIONS }, children };
}

/** Adds a flow the way the importer does: every job in the task index, models registered, work announced. */
async function addFlow(tf: TestFarm, flow: FlowJob): Promise<void> {
  const jobs: FlowJob[] = [];
  const collect = (job: FlowJob) => {
    jobs.push(job);
    for (const child of job.children ?? []) collect(child);
  };
  collect(flow);
  const producer = new FlowProducer({ connection: tf.farm.redis, prefix: tf.prefix });
  try {
    await producer.add(flow);
  } finally {
    await producer.close();
  }
  for (const job of jobs)
    await tf.farm.redis.hset(tf.farm.keys.taskIndex, String(job.opts?.jobId), job.queueName);
  const models = jobs.map((job) => job.queueName.replace(/^model\./, "")).filter((q) => q !== STITCH_QUEUE);
  await tf.farm.queues.registerModels(models);
  await tf.farm.work.announce(
    models,
    "add",
    jobs.map((job) => String(job.opts?.jobId)),
  );
}

async function mainFileOf(
  tf: TestFarm,
  taskId: string,
  queue: string,
): Promise<{ file: string; manifest: Record<string, unknown> }> {
  const job = await waitForJob(tf, taskId, queue, ["completed", "failed"], FLOW_TIMEOUT_MS);
  expect(job.failedReason ?? null, `${taskId} failed`).toBeNull();
  const { output_dir, main_file } = job.returnvalue as unknown as { output_dir: string; main_file: string };
  const manifest = JSON.parse(await readFile(path.join(output_dir, "result.json"), "utf8")) as Record<
    string,
    unknown
  >;
  return { file: path.join(output_dir, main_file), manifest };
}

describe("pipeline steps on the worker", () => {
  it("runs generate → upscale → interpolate as a flow, each step on the previous one's real video", async () => {
    const tf = await testFarm("steps-chain");
    const then: Task["then"] = [
      { kind: "upscale", spatial_upsampling: "lanczos2" },
      { kind: "interpolate", temporal_upsampling: "rife2" },
    ];
    const gen = await generation("clip", 9, { then });
    const upscale = step("clip", 1, { kind: "upscale", spatial_upsampling: "lanczos2" }, "clip", [gen]);
    const interpolate = step("clip", 2, { kind: "interpolate", temporal_upsampling: "rife2" }, upscale.name, [
      upscale,
    ]);
    await addFlow(tf, interpolate);
    await startWorker(tf, { env: REAL_MEDIA, stitchConcurrency: 0 });

    const last = await mainFileOf(tf, interpolate.name, interpolate.queueName);
    const generated = await mainFileOf(tf, "clip", "model.t2v");
    const upscaled = await mainFileOf(tf, upscale.name, upscale.queueName);
    expect(await probeVideo(generated.file)).toEqual({ width: 64, height: 48, frames: 9 });
    expect(await probeVideo(upscaled.file)).toEqual({ width: 128, height: 96, frames: 9 });
    expect(await probeVideo(last.file)).toEqual({ width: 128, height: 96, frames: 18 });

    expect(path.dirname(last.file)).toBe(path.join(tf.outputDir, "clip", "then-2-interpolate"));
    expect(generated.manifest.chain).toEqual([
      { task_id: "clip--then-1-upscale", index: 1, kind: "upscale", output_sub_dir: "clip/then-1-upscale" },
      {
        task_id: "clip--then-2-interpolate",
        index: 2,
        kind: "interpolate",
        output_sub_dir: "clip/then-2-interpolate",
      },
    ]);
    expect(upscaled.manifest).toMatchObject({
      model_type: "post.upscale",
      source: { task_id: "clip", file: generated.file },
      step: { root_task_id: "clip", index: 1, kind: "upscale", spatial_upsampling: "lanczos2" },
    });
    expect((upscaled.manifest.settings as Record<string, unknown>).spatial_upsampling).toBe("lanczos2");
    // Each step published through the fence: its publish claim names its attempt's lock.
    const claims = new PublishClaims(tf.farm.redis, tf.farm.keys);
    for (const id of [upscale.name, interpolate.name])
      expect(await claims.read(id)).toMatchObject({ attempt: 1 });
  }, 180_000);

  it("stitches three segments in order once all are done: frames add up, with and without re-encoding", async () => {
    const tf = await testFarm("steps-stitch");
    const segments = await Promise.all([
      generation("seg_01", 9),
      generation("seg_02", 13),
      generation("seg_03", 17),
    ]);
    const stitch = (taskId: string, reencode: boolean): StitchJobData => ({
      kind: "stitch",
      task_id: taskId,
      sources: segments.map((segment) => ({ task_id: segment.name })),
      reencode,
      output_sub_dir: `travel/${taskId}`,
      priority: 0,
      import: IMPORT,
    });
    await addFlow(tf, {
      name: "final",
      queueName: STITCH_QUEUE,
      data: stitch("final", false),
      opts: { jobId: "final", ...JOB_OPTIONS },
      children: segments,
    });
    await startWorker(tf, { env: REAL_MEDIA, stitchConcurrency: 1 });

    const stitched = await mainFileOf(tf, "final", STITCH_QUEUE);
    expect((await probeVideo(stitched.file)).frames).toBe(9 + 13 + 17);
    expect(stitched.manifest).toMatchObject({
      model_type: "stitch",
      stitch: { reencode: false, crossfade_s: 0 },
    });
    expect((stitched.manifest.sources as { task_id: string }[]).map((source) => source.task_id)).toEqual([
      "seg_01",
      "seg_02",
      "seg_03",
    ]);
    const claims = new PublishClaims(tf.farm.redis, tf.farm.keys);
    expect(await claims.read("final")).toMatchObject({ attempt: 1 });

    // The same sources re-encoded through the concat filter: still every frame, in one new stream.
    const stitchQueue = tf.farm.queues.byName(STITCH_QUEUE) as unknown as Queue<StitchJobData>;
    await stitchQueue.add("again", stitch("again", true), { jobId: "again", ...JOB_OPTIONS });
    const reencoded = await mainFileOf(tf, "again", STITCH_QUEUE);
    expect(await probeVideo(reencoded.file)).toEqual({ width: 64, height: 48, frames: 39 });
  }, 180_000);

  it("fails a step whose source is not completed, naming it, without a retry; takes no stitch with concurrency 0", async () => {
    const tf = await testFarm("steps-source");
    const orphan = step("ghost", 1, { kind: "film_grain", intensity: 0.1, saturation: 0.5 }, "ghost", []);
    await tf.farm.queues.registerModels(["post.film_grain"]);
    await tf.farm.queues.byName(orphan.queueName).add(orphan.name, orphan.data, orphan.opts);
    const stitchQueue = tf.farm.queues.byName(STITCH_QUEUE);
    await stitchQueue.add("untouched", orphan.data, { jobId: "untouched" });
    await startWorker(tf, { stitchConcurrency: 0 });
    const job = await waitForJob(tf, orphan.name, orphan.queueName, ["failed"], 30_000);
    expect(job.failedReason).toBe("invalid: source not ready: ghost is unknown to the farm");
    expect(job.attemptsMade).toBe(1);
    // --stitch-concurrency 0: this worker takes no stitch.
    expect(await stitchQueue.getJobState("untouched")).toBe("waiting");
  }, 60_000);

  it("fails a stitch cancelled before it ran as cancelled, without running ffmpeg", async () => {
    const tf = await testFarm("steps-stitch-cancel");
    await new CancelChannel(tf.farm.redis, tf.farm.keys).request("dropped", "not needed any more");
    const data: StitchJobData = {
      kind: "stitch",
      task_id: "dropped",
      sources: [{ task_id: "seg_a" }, { task_id: "seg_b" }],
      reencode: false,
      output_sub_dir: "dropped",
      priority: 0,
      import: IMPORT,
    };
    const stitchQueue = tf.farm.queues.byName(STITCH_QUEUE) as unknown as Queue<StitchJobData>;
    await stitchQueue.add("dropped", data, { jobId: "dropped", ...JOB_OPTIONS });
    await startWorker(tf, { stitchConcurrency: 1 });
    const job = await waitForJob(tf, "dropped", STITCH_QUEUE, ["failed"], 30_000);
    expect(job.failedReason).toBe("cancelled: not needed any more (stopped on stitch@test-host)");
    expect(job.attemptsMade).toBe(1);
  }, 60_000);
});

describe("pipeline steps on results kept in a bucket", () => {
  it("a post-step fetches its source from the bucket through the host's input cache, under its own name", async () => {
    const server = await S3TestServer.start({ buckets: ["steps"] });
    // The worker's credentials come from the AWS chain: here, the environment.
    Object.assign(process.env, server.env());
    const bucket = new Bucket({ bucket: "steps", prefix: "" }, server.settings, { setting: "test" });
    try {
      const tf = await testFarm("steps-bucket");
      const then: Task["then"] = [{ kind: "upscale", spatial_upsampling: "lanczos2" }];
      const gen = await generation("bclip", 9, { then });
      const upscale = step("bclip", 1, { kind: "upscale", spatial_upsampling: "lanczos2" }, "bclip", [gen]);
      await addFlow(tf, upscale);
      const inputCacheDir = path.join(tf.dir, "input-cache");
      await startWorker(tf, {
        outputStore: `s3://steps/${tf.prefix}`,
        ...server.settings,
        inputCacheDir,
        env: REAL_MEDIA,
        stitchConcurrency: 0,
      });

      const stepJob = await waitForJob(
        tf,
        upscale.name,
        upscale.queueName,
        ["completed", "failed"],
        FLOW_TIMEOUT_MS,
      );
      expect(stepJob.failedReason ?? null).toBeNull();
      const generated = (await waitForJob(tf, "bclip", "model.t2v")).returnvalue as ResultSummary;
      const upscaled = stepJob.returnvalue as ResultSummary;
      const source = `${generated.output_dir}/${generated.main_file}`;
      expect(source).toMatch(/^s3:\/\/steps\//);
      const manifest = JSON.parse(
        (await bucket.getText(`${tf.prefix}/bclip/then-1-upscale/result.json`)) ?? "{}",
      ) as Record<string, unknown>;
      expect(manifest.source).toMatchObject({ task_id: "bclip", file: source });
      // Fetched once into the cache (by content), seen by WanGP under the source's own name.
      const sha256 = generated.files.find((file) => file.name === generated.main_file)?.sha256 ?? "";
      expect(await readdir(inputCacheDir)).toContain(sha256);
      expect(upscaled.main_file.startsWith(path.parse(generated.main_file).name)).toBe(true);
      expect(await readdir(path.join(inputCacheDir, "named"))).toEqual([]);

      const local = path.join(tf.dir, "upscaled.mp4");
      const link = await bucket.link(`${tf.prefix}/bclip/then-1-upscale/${upscaled.main_file}`);
      await writeFile(local, Buffer.from(await (await fetch(link)).arrayBuffer()));
      expect(await probeVideo(local)).toEqual({ width: 128, height: 96, frames: 9 });
    } finally {
      bucket.close();
      await server.stop();
    }
  }, 180_000);

  it("a stitch over segments kept in a bucket runs on a host that shares no folder, and publishes to the bucket", async () => {
    const server = await S3TestServer.start({ buckets: ["stitches"] });
    Object.assign(process.env, server.env());
    const bucket = new Bucket({ bucket: "stitches", prefix: "" }, server.settings, { setting: "test" });
    try {
      const tf = await testFarm("steps-bucket-stitch");
      const outputStore = `s3://stitches/${tf.prefix}`;
      const segments = await Promise.all([generation("bseg_01", 9), generation("bseg_02", 13)]);
      const data: StitchJobData = {
        kind: "stitch",
        task_id: "bfinal",
        sources: segments.map((segment) => ({ task_id: segment.name })),
        reencode: false,
        output_sub_dir: "travel/bfinal",
        priority: 0,
        import: IMPORT,
      };
      await addFlow(tf, {
        name: "bfinal",
        queueName: STITCH_QUEUE,
        data,
        opts: { jobId: "bfinal", ...JOB_OPTIONS },
        children: segments,
      });
      /** A worker host with its own output folder, state and input cache: nothing shared but the bucket. */
      const host = (name: string, stitchConcurrency: number) =>
        startWorker(tf, {
          name,
          mainOutputDir: path.join(tf.dir, `${name}-out`),
          stateDir: path.join(tf.dir, `${name}-state`),
          inputCacheDir: path.join(tf.dir, `${name}-input-cache`),
          outputStore,
          ...server.settings,
          env: REAL_MEDIA,
          stitchConcurrency,
        });
      // The segments are made on one host, which takes no stitch; the stitch on another, started after.
      await host("gpu-host", 0);
      const made = await Promise.all(
        segments.map(async (segment) => {
          const job = await waitForJob(
            tf,
            segment.name,
            "model.t2v",
            ["completed", "failed"],
            FLOW_TIMEOUT_MS,
          );
          expect(job.failedReason ?? null).toBeNull();
          return job.returnvalue as ResultSummary;
        }),
      );
      await host("stitch-host", 1);

      const stitchJob = await waitForJob(
        tf,
        "bfinal",
        STITCH_QUEUE,
        ["completed", "failed"],
        FLOW_TIMEOUT_MS,
      );
      expect(stitchJob.failedReason ?? null).toBeNull();
      const stitched = stitchJob.returnvalue as ResultSummary;
      expect(stitched.host).toBe("stitch-host");
      expect(stitched.output_dir).toBe(`${outputStore}/travel/bfinal`);
      const manifest = JSON.parse(
        (await bucket.getText(`${tf.prefix}/travel/bfinal/result.json`)) ?? "{}",
      ) as {
        sources: { task_id: string; file: string }[];
      };
      expect(manifest.sources).toEqual(
        made.map((summary, index) => ({
          task_id: segments[index]?.name,
          file: `${summary.output_dir}/${summary.main_file}`,
        })),
      );
      // Each segment fetched once into the stitch host's cache (by content), released once stitched.
      const cache = path.join(tf.dir, "stitch-host-input-cache");
      for (const summary of made) {
        const sha256 = summary.files.find((file) => file.name === summary.main_file)?.sha256 ?? "";
        expect(await readdir(cache)).toContain(sha256);
      }
      expect(await readdir(path.join(cache, "named"))).toEqual([]);

      const local = path.join(tf.dir, "stitched.mp4");
      const link = await bucket.link(`${tf.prefix}/travel/bfinal/${stitched.main_file}`);
      await writeFile(local, Buffer.from(await (await fetch(link)).arrayBuffer()));
      expect(await probeVideo(local)).toEqual({ width: 64, height: 48, frames: 9 + 13 });
    } finally {
      bucket.close();
      await server.stop();
    }
  }, 240_000);
});
