import { randomUUID } from "node:crypto";
import { constants } from "node:fs";
import { open, readdir, rename } from "node:fs/promises";
import path from "node:path";
import { STITCH_QUEUE, type StitchJobData, type TaskImportInfo } from "@wgp-farm/queue";
import { type Queue, Worker } from "bullmq";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { STAGING_DIR_NAME } from "../src/output/output-publisher.js";
import { eventually, spawnWorkerProcess, type TestFarm, testFarm, waitForJob } from "./support.js";

/**
 * A stitch runs in its worker process: when that process dies, the stitch must come back like a
 * slot's job does (after about the lock + the stalled interval, from any other worker's stitch runner)
 * and survive as many such deaths as a slot's job before the farm gives up on it (found by the
 * flow-kill chaos scenario: BullMQ's defaults, a 30 s stalled check and one stall, applied to stitches).
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
  it("comes back after about lock + stalled interval, twice, and completes on the third worker", async () => {
    const tf = await testFarm("stitch-recovery");
    // A FIFO as the source's output: ffmpeg blocks reading it, so each doomed worker is surely mid-stitch.
    const fifo = path.join(tf.dir, "segment.mp4");
    await execa("mkfifo", [fifo]);
    await completedSource(tf, "segment", fifo);
    const data: StitchJobData = {
      kind: "stitch",
      task_id: "joined",
      sources: [{ task_id: "segment" }],
      reencode: false,
      output_sub_dir: "joined",
      priority: 0,
      import: IMPORT,
    };
    const stitches = tf.farm.queues.byName(STITCH_QUEUE) as unknown as Queue<StitchJobData>;
    await stitches.add("joined", data, { jobId: "joined", attempts: 1 });
    await tf.farm.redis.hset(tf.farm.keys.taskIndex, "joined", STITCH_QUEUE);

    await killMidStitch(tf, "doomed-a");
    const killedAt = Date.now();
    await killMidStitch(tf, "doomed-b");
    // The second worker's stitch runner found the dead one's stitch: a lock and a few stalled checks, not 30 s.
    const firstDeath = await stitches.getJob("joined");
    expect((firstDeath?.processedOn ?? 0) - killedAt).toBeLessThan(LOCK_MS + 10 * STALLED_MS + 5_000);

    await releaseReaders(fifo);
    const video = path.join(tf.dir, "real.mp4");
    await execa("ffmpeg", [
      ...["-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=16"],
      ...["-frames:v", "9", "-c:v", "libx264", "-pix_fmt", "yuv420p", video],
    ]);
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
