import { randomUUID } from "node:crypto";
import { constants } from "node:fs";
import { open, readdir, rename } from "node:fs/promises";
import path from "node:path";
import {
  findTask,
  modelQueueName,
  postStepModelType,
  readWorkEntry,
  retryTask,
  STITCH_QUEUE,
  type StepJobData,
  type StitchJobData,
  stepJobId,
  type TaskImportInfo,
} from "@wgp-farm/queue";
import { FlowProducer, type Queue, UnrecoverableError, Worker } from "bullmq";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { STAGING_DIR_NAME } from "../src/output/output-publisher.js";
import {
  eventually,
  spawnWorkerProcess,
  startWorker,
  type TestFarm,
  testFarm,
  waitForJob,
} from "./support.js";

/**
 * A stitch runs in its worker process: when that process dies, the stitch must come back like a
 * slot's job does (after about the lock + the stalled interval, from any other worker's stitch runner)
 * and survive as many such deaths as a slot's job before the farm gives up on it (found by the
 * flow-kill chaos scenario: BullMQ's defaults, a 30 s stalled check and one stall, applied to stitches;
 * each doomed worker waits at most 30 s for the stitch to reach it).
 */
const IMPORT: TaskImportInfo = {
  source: "test",
  imported_at: new Date(0).toISOString(),
  seed_generated: false,
  warnings: [],
};
const LOCK_MS = 1_000;
const STALLED_MS = 500;
const WORKER_ARGS = [
  ...["--engine", "dry-run", "--stitch-concurrency", "1"],
  ...["--lock-duration-ms", String(LOCK_MS), "--stalled-interval-ms", String(STALLED_MS)],
];

/** Puts a completed job in the farm whose main output is `file`, the way a finished segment looks. */
async function completedSource(tf: TestFarm, taskId: string, file: string): Promise<void> {
  const queueName = "model.t2v";
  const queue = tf.farm.queues.byName(queueName) as unknown as Queue;
  await queue.add(taskId, { task_id: taskId }, { jobId: taskId });
  const taker = new Worker(queueName, null, { connection: tf.farm.redis, prefix: tf.prefix, autorun: false });
  try {
    const token = randomUUID();
    const job = await taker.getNextJob(token);
    if (!job) throw new Error("the source job was not there to take");
    await job.moveToCompleted(
      { output_dir: path.dirname(file), main_file: path.basename(file) },
      token,
      false,
    );
  } finally {
    await taker.close();
  }
  await tf.farm.redis.hset(tf.farm.keys.taskIndex, taskId, queueName);
}

/** A real 9-frame video at `file`, made by ffmpeg. */
async function testVideo(file: string): Promise<void> {
  await execa("ffmpeg", [
    ...["-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=16"],
    ...["-frames:v", "9", "-c:v", "libx264", "-pix_fmt", "yuv420p", file],
  ]);
}

function stitchOf(taskId: string, sources: readonly string[]): StitchJobData {
  return {
    kind: "stitch",
    task_id: taskId,
    sources: sources.map((source) => ({ task_id: source })),
    reencode: false,
    output_sub_dir: taskId,
    priority: 0,
    import: IMPORT,
  };
}

/** Ends the ffmpeg processes left blocked on the FIFO by killed workers: a writer that closes at once. */
async function releaseReaders(fifo: string): Promise<void> {
  const writer = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined);
  await writer?.close();
}

/** Starts a worker and SIGKILLs it once it is running the stitch (blocked reading its source). */
async function killMidStitch(tf: TestFarm, name: string): Promise<void> {
  const doomed = spawnWorkerProcess(tf, name, WORKER_ARGS);
  const stitches = tf.farm.queues.byName(STITCH_QUEUE);
  await eventually(
    async () => {
      const job = await stitches.getJob("joined");
      return job?.processedBy === `stitch@${name}` && (await job.getState()) === "active" ? true : undefined;
    },
    30_000,
    `the stitch running on ${name}`,
  );
  doomed.child.kill("SIGKILL");
  await doomed.exited;
}

describe("a stitch whose worker process dies", () => {
  it("comes back after the lock and a stalled check, twice, and completes on the third worker", async () => {
    const tf = await testFarm("stitch-recovery");
    // A FIFO as the source's output: ffmpeg blocks reading it, so each doomed worker is surely mid-stitch.
    const fifo = path.join(tf.dir, "segment.mp4");
    await execa("mkfifo", [fifo]);
    await completedSource(tf, "segment", fifo);
    const data = stitchOf("joined", ["segment"]);
    const stitches = tf.farm.queues.byName(STITCH_QUEUE) as unknown as Queue<StitchJobData>;
    await stitches.add("joined", data, { jobId: "joined", attempts: 1 });
    await tf.farm.redis.hset(tf.farm.keys.taskIndex, "joined", STITCH_QUEUE);

    await killMidStitch(tf, "doomed-a");
    await killMidStitch(tf, "doomed-b");
    // The stitch runners look for dead workers' stitches every stalled interval (BullMQ's default: 30 s).
    expect(await tf.farm.redis.pttl(stitches.toKey("stalled-check"))).toBeLessThanOrEqual(STALLED_MS);

    await releaseReaders(fifo);
    const video = path.join(tf.dir, "real.mp4");
    await testVideo(video);
    await rename(video, fifo);
    spawnWorkerProcess(tf, "rescuer", WORKER_ARGS);

    const job = await waitForJob(tf, "joined", STITCH_QUEUE, ["completed", "failed"], 60_000);
    expect(job.failedReason ?? null).toBeNull();
    expect(job.processedBy).toBe("stitch@rescuer");
    expect(job.stalledCounter).toBe(2);
    expect(await readdir(path.join(tf.outputDir, "joined"))).toEqual(
      expect.arrayContaining(["joined.mp4", "result.json", "task.json"]),
    );
    expect(await readdir(path.join(tf.outputDir, STAGING_DIR_NAME))).toEqual([]);
  }, 120_000);
});

describe("a stitch with a step on its output", () => {
  it("announces the step once the stitch is completed, as a slot announces the next job of its flow", async () => {
    const tf = await testFarm("stitch-announce");
    const video = path.join(tf.dir, "segment.mp4");
    await testVideo(video);
    await completedSource(tf, "segment", video);
    const stepId = stepJobId("joined", 1, "film_grain");
    const step: StepJobData = {
      kind: "step",
      task_id: stepId,
      root_task_id: "joined",
      index: 1,
      step: { kind: "film_grain", intensity: 0.1, saturation: 0.5 },
      source: { task_id: "joined" },
      output_sub_dir: "joined/then-1-film_grain",
      priority: 0,
      import: IMPORT,
    };
    const stepQueue = modelQueueName(postStepModelType("film_grain"));
    const producer = new FlowProducer({ connection: tf.farm.redis, prefix: tf.prefix });
    await producer.add({
      name: stepId,
      queueName: stepQueue,
      data: step,
      opts: { jobId: stepId, failParentOnFailure: true },
      children: [
        {
          name: "joined",
          queueName: STITCH_QUEUE,
          data: stitchOf("joined", ["segment"]),
          opts: { jobId: "joined", failParentOnFailure: true },
        },
      ],
    });
    await producer.close();
    await tf.farm.redis.hset(tf.farm.keys.taskIndex, "joined", STITCH_QUEUE, stepId, stepQueue);
    await tf.farm.queues.registerModels([postStepModelType("film_grain")]);
    await startWorker(tf, { stitchConcurrency: 1, env: { WGP_FARM_FAKE_MEDIA: "ffmpeg" } });

    await waitForJob(tf, "joined", STITCH_QUEUE, ["completed"], 60_000);
    const announced = await eventually(
      async () => {
        const entries = await tf.farm.redis.xrange(tf.farm.keys.workSignal, "-", "+");
        const entry = entries
          .map(([, fields]) => readWorkEntry(fields))
          .find((e) => e?.taskIds.includes(stepId));
        return entry ?? undefined;
      },
      10_000,
      `an announcement of ${stepId}`,
    );
    expect(announced).toMatchObject({ reason: "add", models: [postStepModelType("film_grain")] });
    const grained = await waitForJob(tf, stepId, stepQueue, ["completed", "failed"], 60_000);
    expect(grained.failedReason ?? null).toBeNull();
  }, 90_000);
});

describe("a stitch whose source failed", () => {
  it("fails with an operator's reason: the task that failed, its error, and the retry that resumes the flow", async () => {
    const tf = await testFarm("stitch-source-failed");
    const producer = new FlowProducer({ connection: tf.farm.redis, prefix: tf.prefix });
    await producer.add({
      name: "joined",
      queueName: STITCH_QUEUE,
      data: stitchOf("joined", ["segment"]),
      opts: { jobId: "joined", failParentOnFailure: true },
      children: [
        {
          name: "segment",
          queueName: "model.t2v",
          data: { task_id: "segment" },
          opts: { jobId: "segment", failParentOnFailure: true },
        },
      ],
    });
    await producer.close();
    await tf.farm.redis.hset(tf.farm.keys.taskIndex, "joined", STITCH_QUEUE, "segment", "model.t2v");
    // A real BullMQ worker fails the segment: BullMQ then marks the stitch to fail when it is taken.
    const failer = new Worker(
      "model.t2v",
      async () => {
        throw new UnrecoverableError("CUDA out of memory");
      },
      { connection: tf.farm.redis, prefix: tf.prefix },
    );
    try {
      await waitForJob(tf, "segment", "model.t2v", ["failed"]);
    } finally {
      await failer.close();
    }
    await startWorker(tf, { stitchConcurrency: 1 });

    const stitch = await waitForJob(tf, "joined", STITCH_QUEUE, ["completed", "failed"]);
    const reason =
      "segment failed: CUDA out of memory (this stitch needs its output). Retry it with `wgp-farm retry segment`: " +
      "the flow resumes from there, and the stitch runs once all its sources have completed.";
    expect(stitch.failedReason).toBe(reason);
    // `status joined` and the API read the stored error.
    const details = await findTask(tf.farm, "joined", { logLines: 0 });
    expect(details?.errors.at(-1)?.message).toBe(reason);
    expect(details?.flow?.failed_reason).toBe(reason);
    // The command it gives does what it says: the stitch goes back to waiting for its source.
    expect(await retryTask(tf.farm, "segment")).toMatchObject({ outcome: "retried", resumed: ["joined"] });
    expect(await tf.farm.queues.byName(STITCH_QUEUE).getJobState("joined")).toBe("waiting-children");
  }, 60_000);
});
