import { Readable } from "node:stream";
import {
  DEFAULT_RETRY_POLICY,
  type FarmConnection,
  type ImportReport,
  QUARANTINE_QUEUE,
  type QuarantinedJobData,
  RedisTaskSink,
  type RetryPolicy,
  TaskImporter,
  type TaskJobData,
} from "@wgp-farm/queue";
import { readTaskRecords, TaskValidator } from "@wgp-farm/tasks";
import { type Job, type Processor, Worker } from "bullmq";

/** A task for a test: a task_id, the rest defaulted (prompt, model t2v). */
export interface TestTask {
  task_id: string;
  prompt?: string;
  model?: string;
  priority?: number;
  output_sub_dir?: string;
  /** Any other task field, typos included (to test what the importer says of them). */
  [field: string]: unknown;
}

/** Imports tasks the way `import-tasks` does (validated, indexed, jobId = task_id). */
export async function importTestTasks(
  farm: FarmConnection,
  tasks: readonly TestTask[],
  retry: RetryPolicy = DEFAULT_RETRY_POLICY,
): Promise<ImportReport> {
  const lines = tasks.map((task) =>
    JSON.stringify({ prompt: `a test video for ${task.task_id}`, model: "t2v", ...task }),
  );
  const importer = new TaskImporter(new RedisTaskSink(farm, retry));
  return importer.import(
    readTaskRecords(Readable.from([Buffer.from(lines.join("\n"))])),
    new TaskValidator({ mediaRoot: process.cwd() }),
    {
      source: "test",
    },
  );
}

/** A result manifest shaped like the worker's, with the given timings. */
export function testManifest(
  job: Job,
  timings: { queue_wait_s: number; model_load_s: number; generation_s: number },
) {
  return {
    status: "completed",
    output_dir: `/outputs/${job.id}`,
    main_file: `${job.id}.mp4`,
    files: [{ name: `${job.id}.mp4`, size: 1024, sha256: "0".repeat(64) }],
    seed: 42,
    model_type: job.data?.task?.model ?? "t2v",
    timings: {
      queued_at: new Date(job.timestamp).toISOString(),
      started_at: new Date().toISOString(),
      finished_at: new Date().toISOString(),
      ...timings,
      total_s: timings.model_load_s + timings.generation_s,
    },
    slot: "gpu0@test-host",
    host: "test-host",
    gpu_index: 0,
  };
}

/**
 * A BullMQ worker on one farm queue, with its own connection (a worker blocks on it), standing in for
 * the GPU worker in tests that need jobs to run. Close it when done.
 */
export async function startTestWorker(
  farm: FarmConnection,
  queueName: string,
  processor: Processor,
  options: { name?: string; lockDuration?: number } = {},
): Promise<Worker> {
  const url = new URL(farm.url);
  const worker = new Worker(queueName, processor, {
    // Options rather than a client, so that the worker owns its connections and closes them.
    connection: { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null },
    prefix: farm.keys.prefix,
    name: options.name ?? "gpu0@test-host",
    lockDuration: options.lockDuration ?? 30_000,
  });
  await worker.waitUntilReady();
  return worker;
}

/** Polls until `check` holds (or throws after `timeoutMs`). */
export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Sets a task aside the way the worker's quarantine does, for tests of what reads it: the task's job
 * (already failed with a `quarantined: …` reason) is copied with a quarantine record to the
 * quarantine queue, and the task index points there.
 */
export async function quarantineTestTask(
  farm: FarmConnection,
  queueName: string,
  taskId: string,
): Promise<void> {
  const original = await farm.queues.byName(queueName).getJob(taskId);
  if (!original) throw new Error(`no job ${taskId} in ${queueName}`);
  const data: QuarantinedJobData = {
    ...(original.data as TaskJobData),
    quarantine: {
      reason: "quarantined: the task took down its worker 3 times (3 worker stalls; threshold 3)",
      from_queue: queueName,
      quarantined_at: new Date().toISOString(),
      stalls: 3,
      crashes: 0,
      attempts_started: 3,
      attempts_made: original.attemptsMade,
      errors: ["Error: job stalled more than allowable limit\n    at moveToFinished (worker.js:1:1)"],
      attempts: [],
      log_tail: ["engine: segfault"],
    },
  };
  await farm.queues.byName(QUARANTINE_QUEUE).add(original.name, data, { jobId: taskId });
  await farm.redis.hset(farm.keys.taskIndex, taskId, QUARANTINE_QUEUE);
}
