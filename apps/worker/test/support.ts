import { readdir } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { createLogger } from "@wgp-farm/config";
import {
  FarmConnection,
  type ImportReport,
  importTaskSource,
  type LostAttempt,
  LostAttempts,
  modelQueueName,
  RedisTaskSink,
  type RetryPolicy,
  type SourceImportOptions,
  type TaskJobData,
} from "@wgp-farm/queue";
import { Bucket } from "@wgp-farm/storage";
import type { S3TestServer } from "@wgp-farm/storage/test-server";
import { FAKE_WANGP_ROOT, readJsonLines, temporaryDir, uniquePrefix, WGP_FARM_BIN } from "@wgp-farm/testing";
import type { Job } from "bullmq";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, expect, inject } from "vitest";
import { type FarmWorkerHandle, type FarmWorkerOptions, startFarmWorker } from "../src/index.js";
import { STAGING_DIR_NAME } from "../src/output/output-publisher.js";

export { copyOfFakeWangp, FAKE_NVIDIA_SMI, WGP_FARM_BIN } from "@wgp-farm/testing";

export const silent = createLogger({
  name: "worker-test",
  level: process.env.WGP_FARM_TEST_LOG ? "debug" : "silent",
});

const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

export function onCleanup(cleanup: () => Promise<unknown>): void {
  cleanups.push(cleanup);
}

/** A Redis prefix, an output folder and a fake-WanGP record file of the test's own. */
export interface TestFarm {
  redisUrl: string;
  prefix: string;
  farm: FarmConnection;
  dir: string;
  outputDir: string;
  /** FAKE_WANGP_RECORD: JSON lines of the engines' init/submit/load events. */
  recordFile: string;
}

export async function testFarm(label: string): Promise<TestFarm> {
  const redisUrl = inject("redisUrl");
  const prefix = uniquePrefix(label);
  const { dir, remove } = await temporaryDir(label);
  const farm = await FarmConnection.open(redisUrl, prefix);
  cleanups.push(remove, () => farm.close());
  return {
    redisUrl,
    prefix,
    farm,
    dir,
    outputDir: path.join(dir, "out"),
    recordFile: path.join(dir, "record.jsonl"),
  };
}

export const FAST_RETRY: RetryPolicy = { attempts: 3, backoffMs: 50 };

/**
 * Imports tasks the way `import-tasks` does (validator, task index, model queues), with the import's
 * options (`--allow-http-media`, the hosts' WanGP knowledge); none may be invalid.
 */
export async function importTasks(
  tf: TestFarm,
  tasks: readonly Record<string, unknown>[],
  retry: RetryPolicy = FAST_RETRY,
  options: SourceImportOptions = {},
): Promise<ImportReport> {
  const body = Buffer.from(JSON.stringify(tasks));
  const report = await importTaskSource(
    new RedisTaskSink(tf.farm, retry),
    { stream: Readable.from([body]), baseDir: tf.dir, name: "test" },
    options,
  );
  expect(report.invalid).toEqual([]);
  return report;
}

export interface WorkerOverrides extends Partial<FarmWorkerOptions> {
  /** Fake WanGP knobs (FAKE_WANGP_*) for every engine. */
  env?: Record<string, string>;
}

/** The real engine-py with the WanGP double, in this process. Stopped after the test. */
export async function startWorker(tf: TestFarm, overrides: WorkerOverrides = {}): Promise<FarmWorkerHandle> {
  const { env, ...options } = overrides;
  const worker = await startFarmWorker({
    redisUrl: tf.redisUrl,
    prefix: tf.prefix,
    mainOutputDir: tf.outputDir,
    stateDir: path.join(tf.dir, "state"),
    wangpRoot: FAKE_WANGP_ROOT,
    engine: "wangp",
    slots: 1,
    nvidiaSmi: path.join(tf.dir, "no-nvidia-smi"),
    name: "test-host",
    lockDurationMs: 4_000,
    stalledIntervalMs: 1_000,
    idleRecheckMs: 2_000,
    logger: silent,
    ...options,
    engineEnv: {
      PYTHONDONTWRITEBYTECODE: "1",
      FAKE_WANGP_RECORD: tf.recordFile,
      ...env,
      ...options.engineEnv,
    },
  });
  cleanups.push(() => worker.stop());
  return worker;
}

const FINISHED = ["completed", "failed"];

/** Polls until the task's job reaches one of `states` (default: finished); returns the job. */
export async function waitForJob(
  tf: TestFarm,
  taskId: string,
  queueName: string,
  states: readonly string[] = FINISHED,
  timeoutMs = 30_000,
): Promise<Job<TaskJobData>> {
  const queue = tf.farm.queues.byName(queueName);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // The state first, then the job: a job read before its state could be from an earlier attempt.
    const state = await queue.getJobState(taskId);
    const job = states.includes(state) ? await queue.getJob(taskId) : undefined;
    if (job) return job;
    if (Date.now() > deadline)
      throw new Error(`task ${taskId} still ${state} after ${timeoutMs} ms (wanted ${states.join("/")})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Polls until `check` returns a value (not undefined). */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface FakeRecord {
  event: "init" | "submit" | "load";
  t: number;
  model_type?: string;
  id?: string;
  params?: Record<string, unknown>;
}

export function readRecords(file: string): Promise<FakeRecord[]> {
  return readJsonLines<FakeRecord>(file);
}

export function t2vTask(taskId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { task_id: taskId, prompt: `a lighthouse in a storm (${taskId})`, model: "t2v", steps: 3, ...extra };
}

export interface WorkerProcess {
  child: ReturnType<typeof startWorkerProcess>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** Starts the built CLI for a test farm: signals go only where a test sends them (no forced kill). */
function startWorkerProcess(tf: TestFarm, args: string[], env: Record<string, string>) {
  return execa(WGP_FARM_BIN, args, {
    env: {
      ...process.env,
      REDIS_URL: tf.redisUrl,
      WGP_FARM_PREFIX: tf.prefix,
      WGP_FARM_LOG_FORMAT: "json",
      PYTHONDONTWRITEBYTECODE: "1",
      FAKE_WANGP_RECORD: tf.recordFile,
      ...env,
    },
    stdin: "ignore",
    reject: false,
    buffer: false,
    forceKillAfterDelay: false,
  });
}

/** The real `wgp-farm worker` as a child process (the built CLI), with the WanGP double. */
export function spawnWorkerProcess(
  tf: TestFarm,
  name: string,
  args: string[] = [],
  env: Record<string, string> = {},
): WorkerProcess {
  const child = startWorkerProcess(
    tf,
    [
      "worker",
      "--wangp-root",
      FAKE_WANGP_ROOT,
      "--main-output-dir",
      tf.outputDir,
      "--state-dir",
      path.join(tf.dir, `state-${name}`),
      "--slots",
      "1",
      "--name",
      name,
      ...args,
    ],
    env,
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = child.then(({ exitCode, signal }) => ({
    code: exitCode ?? null,
    signal: (signal as NodeJS.Signals | undefined) ?? null,
  }));
  cleanups.push(async () => {
    const { exitCode, signalCode } = child.nodeChildProcess;
    if (exitCode === null && signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  return { child, exited, output: () => output };
}

/** Resolves once the task's job is active and its engine has reported a denoising step. */
export async function untilRunning(
  tf: TestFarm,
  taskId: string,
  queueName: string,
  minStep = 1,
): Promise<void> {
  const queue = tf.farm.queues.byName(queueName);
  await eventually(
    async () => {
      const job = await queue.getJob(taskId);
      const step = (job?.progress as { step?: number | null } | undefined)?.step ?? 0;
      return job && (await job.getState()) === "active" && step >= minStep ? true : undefined;
    },
    30_000,
    `${taskId} running`,
  );
}

/**
 * Imports `task`, starts a worker with `start` (in this process or a `wgp-farm worker` process) and
 * returns it once it runs the task past step `minStep`.
 */
export async function workerRunningTask<W>(
  tf: TestFarm,
  task: Record<string, unknown>,
  start: () => W | Promise<W>,
  minStep = 1,
): Promise<W> {
  await importTasks(tf, [task]);
  const worker = await start();
  await untilRunning(tf, String(task.task_id), modelQueueName(String(task.model)), minStep);
  return worker;
}

/** The result folders published in the test farm's output folder (not its dot folders: staging). */
export async function publishedFolders(tf: TestFarm): Promise<string[]> {
  return (await readdir(tf.outputDir)).filter((name) => !name.startsWith("."));
}

/** What the attempts have staged and not yet published or removed. */
export async function stagedFolders(tf: TestFarm): Promise<string[]> {
  return readdir(path.join(tf.outputDir, STAGING_DIR_NAME));
}

/** Takes the task's job lock as another attempt would (one that took the job over); returns the lock's key. */
export async function takeLockAsAnotherAttempt(
  tf: TestFarm,
  queueName: string,
  taskId: string,
): Promise<string> {
  const lockKey = tf.farm.keys.jobLockKey(queueName, taskId);
  await tf.farm.redis.set(lockKey, "the-other-attempt", "PX", 60_000);
  return lockKey;
}

/** The first lost-attempt record of the task, once the attempt that lost its job has written one. */
export async function lostAttemptOf(tf: TestFarm, taskId: string): Promise<LostAttempt> {
  const lostAttempts = new LostAttempts(tf.farm.redis, tf.farm.keys);
  const [lost] = await eventually(
    async () => {
      const records = await lostAttempts.list(taskId);
      return records.length > 0 ? records : undefined;
    },
    30_000,
    "the lost attempt's record",
  );
  if (!lost) throw new Error(`no lost attempt of ${taskId}`);
  return lost;
}

/** An S3-compatible server with one bucket, shared by the tests of a file. */
export interface TestBucketServer {
  readonly name: string;
  readonly server: S3TestServer;
  /** A client of the bucket, for what the tests read and write themselves. */
  readonly bucket: Bucket;
  /** The keys under `prefix`, sorted. */
  keysUnder(prefix: string): Promise<string[]>;
}

/**
 * An S3-compatible server (s3rver) with the bucket `name`, started before the file's tests and stopped
 * after them. Its credentials go in the environment: a worker host takes them from the AWS chain.
 */
export function bucketServerForFile(name: string): TestBucketServer {
  let server: S3TestServer | undefined;
  let bucket: Bucket | undefined;
  beforeAll(async () => {
    // Loaded here: only the files with a bucket need s3rver.
    const { S3TestServer } = await import("@wgp-farm/storage/test-server");
    server = await S3TestServer.start({ buckets: [name] });
    Object.assign(process.env, server.env());
    bucket = new Bucket({ bucket: name, prefix: "" }, server.settings, { setting: "test" });
  });
  afterAll(async () => {
    bucket?.close();
    await server?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the bucket server starts before the file's tests");
    return value;
  };
  return {
    name,
    get server() {
      return started(server);
    },
    get bucket() {
      return started(bucket);
    },
    async keysUnder(prefix) {
      return (await started(bucket).list(prefix)).map((object) => object.key).sort();
    },
  };
}
