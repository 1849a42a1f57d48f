import { Readable } from "node:stream";
import {
  DEFAULT_RETRY_POLICY,
  type FarmConnection,
  type ImportReport,
  RedisTaskSink,
  type RetryPolicy,
  TaskImporter,
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
    new TaskValidator({}),
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
