/**
 * Worker benchmark, on a private redis-server and the real engine-py with the WanGP test double:
 *
 * 1. pickup latency: an idle slot, one task imported at a time; from the start of the import to the
 *    moment WanGP's `submit_task` receives it (the double's record), and from the job's creation;
 * 2. orchestration overhead: back-to-back jobs on a zero-time engine; each job's time in the worker
 *    minus the engine's own time, and the gap between jobs;
 * 3. farm simulation: 4 slots, 3 models, 200 mixed tasks, model load = 1/5 of a job's generation;
 *    makespan against the lower bound, and model loads, for the farm's scheduler and plain FIFO;
 * 4. the Node worker's RSS with 8 slots (the real `wgp-farm worker`, dry-run engines, which are
 *    separate processes and not counted) after jobs on 3 models.
 *
 *   node apps/worker/bench/worker-bench.ts [--quick]
 *
 * Needs `npm run build` first (it imports ../dist). Prints one JSON object on stdout (the last line).
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createLogger } from "@wgp-farm/config";
import {
  FarmConnection,
  importTaskSource,
  RedisServerProcess,
  RedisTaskSink,
  SlotRegistry,
  setQueuesPaused,
  type TaskJobData,
} from "@wgp-farm/queue";
import type { Job } from "bullmq";
import type { BenchRow } from "../../../test/bench/bench-result.ts";
import { median, percentile, printBenchResult } from "../../../test/bench/bench-result.ts";
import { type FarmWorkerOptions, type ResultSummary, startFarmWorker } from "../dist/index.js";

const FAKE_WANGP = fileURLToPath(new URL("../../../test/fixtures/fake-wangp", import.meta.url));
const WGP_FARM_BIN = fileURLToPath(new URL("../../cli/bin/wgp-farm", import.meta.url));
const PROBE = fileURLToPath(new URL("./engine-send-probe.ts", import.meta.url));
const MODELS = ["t2v", "t2v_1.3B", "vace_14B"] as const;

const { values } = parseArgs({ options: { quick: { type: "boolean", default: false } } });
const quick = values.quick === true;
const logger = createLogger({ name: "worker-bench", level: "warn" });
const round = (value: number, digits = 2) => Number(value.toFixed(digits));
const nowMs = () => performance.timeOrigin + performance.now();

interface Session {
  redis: RedisServerProcess;
  dir: string;
  prefixCounter: number;
}

interface Bench {
  farm: FarmConnection;
  prefix: string;
  dir: string;
  record: string;
}

async function openBench(session: Session, label: string): Promise<Bench> {
  session.prefixCounter += 1;
  const prefix = `bench-${label}-${session.prefixCounter}`;
  const dir = path.join(session.dir, prefix);
  const farm = await FarmConnection.open(session.redis.url, prefix);
  return { farm, prefix, dir, record: path.join(dir, "record.jsonl") };
}

function workerOptions(session: Session, bench: Bench, extra: Partial<FarmWorkerOptions>): FarmWorkerOptions {
  return {
    redisUrl: session.redis.url,
    prefix: bench.prefix,
    mainOutputDir: path.join(bench.dir, "out"),
    stateDir: path.join(bench.dir, "state"),
    wangpRoot: FAKE_WANGP,
    engine: "wangp",
    gpus: [0],
    nvidiaSmi: path.join(bench.dir, "no-nvidia-smi"),
    name: "bench",
    logger,
    ...extra,
    engineEnv: { PYTHONDONTWRITEBYTECODE: "1", FAKE_WANGP_RECORD: bench.record, ...extra.engineEnv },
  };
}

interface WorkerChild {
  pid: number;
  stop(): Promise<void>;
}

/**
 * The real `wgp-farm worker` in a process of its own, so that nothing the benchmark does (imports,
 * polling) shares its event loop. Resolves once its slots are idle.
 */
async function spawnWorker(
  session: Session,
  bench: Bench,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<WorkerChild> {
  const slots = Number(args[args.indexOf("--slots") + 1] ?? 1);
  const child = spawn(
    WGP_FARM_BIN,
    ["worker", "--main-output-dir", path.join(bench.dir, "out"), "--name", "bench", ...args],
    {
      env: {
        ...process.env,
        REDIS_URL: session.redis.url,
        WGP_FARM_PREFIX: bench.prefix,
        WGP_FARM_LOG_LEVEL: "warn",
        PYTHONDONTWRITEBYTECODE: "1",
        FAKE_WANGP_RECORD: bench.record,
        ...env,
      },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const registry = new SlotRegistry(bench.farm.redis, bench.farm.keys);
  while ((await registry.list()).filter((slot) => slot.state === "idle").length < slots) {
    if (child.exitCode !== null) throw new Error("the worker exited before it was ready");
    await sleep(50);
  }
  return {
    pid: child.pid as number,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

const FAKE_ENGINE_ARGS = ["--engine", "wangp", "--wangp-root", FAKE_WANGP, "--gpus", "0", "--slots", "1"];

async function importTasks(bench: Bench, tasks: readonly Record<string, unknown>[]): Promise<void> {
  const body = Buffer.from(JSON.stringify(tasks));
  const report = await importTaskSource(
    new RedisTaskSink(bench.farm, { attempts: 1, backoffMs: 1000 }),
    {
      stream: (async function* () {
        yield body;
      })(),
      baseDir: bench.dir,
      name: "bench",
    },
    {},
  );
  if (report.invalid.length > 0) throw new Error(`invalid bench tasks: ${JSON.stringify(report.invalid[0])}`);
}

function task(id: string, model: string, steps: number): Record<string, unknown> {
  return { task_id: id, prompt: `bench ${id}`, model, steps, seed: 7 };
}

async function records(
  file: string,
): Promise<{ event: string; t: number; id?: string; model_type?: string }[]> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

async function waitFinished(bench: Bench, model: string, taskId: string, pollMs = 2) {
  const queue = bench.farm.queues.forModel(model);
  for (;;) {
    const job = await queue.getJob(taskId);
    if (job?.finishedOn) {
      if (job.failedReason) throw new Error(`${taskId} failed: ${job.failedReason}`);
      return job;
    }
    await sleep(pollMs);
  }
}

/**
 * 1. Idle slot: import one task, time until the worker hands engine-py the generate command (the
 * probe), and until WanGP's submit_task gets it (the double's record).
 */
async function pickupLatency(session: Session) {
  const bench = await openBench(session, "pickup");
  await bench.farm.queues.registerModels(["t2v"]);
  const probe = path.join(bench.dir, "probe.jsonl");
  const worker = await spawnWorker(session, bench, FAKE_ENGINE_ARGS, {
    NODE_OPTIONS: `--import ${PROBE}`,
    WGP_FARM_BENCH_PROBE: probe,
  });
  const runs = quick ? 30 : 200;
  const fromImport = new Map<string, number>();
  const created = new Map<string, number>();
  try {
    await importTasks(bench, [task("warm-up", "t2v", 1)]);
    await waitFinished(bench, "t2v", "warm-up");
    for (let i = 0; i < runs; i++) {
      // Let the slot settle into its blocking wait, as an idle slot would be.
      await sleep(20 + (i % 7) * 5);
      const id = `pickup-${i}`;
      fromImport.set(id, nowMs());
      await importTasks(bench, [task(id, "t2v", 1)]);
      const job = await waitFinished(bench, "t2v", id);
      created.set(id, job.timestamp);
    }
  } finally {
    await worker.stop();
  }
  const submits = new Map(
    (await records(bench.record)).filter((r) => r.event === "submit").map((r) => [r.id, r.t * 1000]),
  );
  const sent = new Map([...(await probeRecords(probe))].map(([id, record]) => [id, record.t]));
  const stats = (ends: Map<string | undefined, number>, starts: Map<string, number>) => {
    const values = [...starts].map(([id, start]) => (ends.get(id) as number) - start);
    return { median_ms: round(median(values)), p99_ms: round(percentile(values, 0.99)) };
  };
  await bench.farm.close();
  return {
    runs,
    import_to_generate: stats(sent, fromImport),
    import_to_wangp_submit: stats(submits, fromImport),
    job_creation_to_generate: stats(sent, created),
  };
}

interface ProbeRecord {
  id: string;
  /** The generate command handed to engine-py. */
  t: number;
  /** Its result back in the worker. */
  end?: number;
}

async function probeRecords(file: string): Promise<Map<string, ProbeRecord>> {
  const text = await readFile(file, "utf8").catch(() => "");
  const list = text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ProbeRecord);
  return new Map(list.map((record) => [record.id, record]));
}

/**
 * 2. Back-to-back jobs on a zero-time engine: a job's time in the worker (BullMQ's processedOn to
 * finishedOn) minus the engine round trip the probe saw, and the gap between jobs.
 */
async function orchestrationOverhead(session: Session) {
  const bench = await openBench(session, "overhead");
  const jobs = quick ? 60 : 300;
  const tasks = Array.from({ length: jobs }, (_, i) =>
    task(`overhead-${String(i).padStart(4, "0")}`, "t2v", 1),
  );
  await importTasks(bench, [task("warm-up", "t2v", 1)]);
  const probe = path.join(bench.dir, "probe.jsonl");
  const worker = await spawnWorker(session, bench, FAKE_ENGINE_ARGS, {
    NODE_OPTIONS: `--import ${PROBE}`,
    WGP_FARM_BENCH_PROBE: probe,
  });
  let wallMs = 0;
  const finished: Job<TaskJobData>[] = [];
  try {
    await waitFinished(bench, "t2v", "warm-up");
    const started = nowMs();
    await importTasks(bench, tasks);
    for (const t of tasks) finished.push(await waitFinished(bench, "t2v", String(t.task_id), 5));
    wallMs = nowMs() - started;
  } finally {
    await worker.stop();
  }
  await bench.farm.close();
  const engine = await probeRecords(probe);
  finished.sort((a, b) => (a.processedOn ?? 0) - (b.processedOn ?? 0));
  const perJob = finished.map((job) => {
    const record = engine.get(String(job.id)) as ProbeRecord;
    return (job.finishedOn ?? 0) - (job.processedOn ?? 0) - ((record.end ?? record.t) - record.t);
  });
  const engineMs = [...engine.values()].map((record) => (record.end ?? record.t) - record.t);
  const gaps = finished.slice(1).map((job, i) => (job.processedOn ?? 0) - (finished[i]?.finishedOn ?? 0));
  return {
    jobs,
    in_job_overhead: { median_ms: round(median(perJob)), p95_ms: round(percentile(perJob, 0.95)) },
    gap_between_jobs: { median_ms: round(median(gaps)), p95_ms: round(percentile(gaps, 0.95)) },
    engine_round_trip: { median_ms: round(median(engineMs)) },
    throughput_jobs_per_s: round(jobs / (wallMs / 1000), 1),
  };
}

/** Deterministic mix of models (a small LCG, so both policies see the same task list). */
function mixedModels(count: number): string[] {
  let state = 42;
  return Array.from({ length: count }, () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return MODELS[state % MODELS.length] as string;
  });
}

/** 3. One farm run: `slots` slots, the mixed tasks imported at once into warm, idle slots. */
async function farmRun(
  session: Session,
  policy: "affinity" | "fifo",
  models: readonly string[],
  setup: FarmSetup,
) {
  const bench = await openBench(session, `farm-${policy}`);
  // Every model has a queue before the run (a farm's steady state), so no run pays for discovering one.
  await bench.farm.queues.registerModels(MODELS);
  const worker = await startFarmWorker(
    workerOptions(session, bench, {
      slots: setup.slots,
      gpus: Array.from({ length: setup.slots }, (_, i) => i),
      schedulingPolicy: policy,
      engineEnv: { FAKE_WANGP_STEP_S: String(setup.stepS), FAKE_WANGP_LOAD_S: String(setup.loadS) },
    }),
  );
  const tasks = models.map((model, i) => task(`farm-${String(i).padStart(4, "0")}`, model, setup.steps));
  try {
    // Queued one by one (each job gets its own creation time, so FIFO has an order across queues)
    // while the queues are paused; resuming them all is the start.
    await setQueuesPaused(bench.farm, true, { models: MODELS });
    for (const t of tasks) {
      await importTasks(bench, [t]);
      await sleep(1);
    }
    const start = nowMs();
    // The farm's own resume (what `wgp-farm resume` runs): it tells idle slots that work is ready.
    await setQueuesPaused(bench.farm, false, { models: MODELS });
    const jobs = [];
    for (const t of tasks) jobs.push(await waitFinished(bench, String(t.model), String(t.task_id), 100));
    const makespanS = (Math.max(...jobs.map((job) => job.finishedOn ?? 0)) - start) / 1000;
    const events = await records(bench.record);
    const loads = events.filter((event) => event.event === "load").length;
    const summaries = jobs.map((job) => job.returnvalue as ResultSummary);
    const generationS = summaries.reduce((sum, s) => sum + s.timings.generation_s, 0);
    const statuses = await new SlotRegistry(bench.farm.redis, bench.farm.keys).list();
    return {
      makespanS,
      loads,
      generationS,
      loadTimes: summaries.map((s) => s.timings.model_load_s).filter((s) => s > 0),
      switches: statuses.reduce((sum, s) => sum + s.model_switches, 0),
    };
  } finally {
    await worker.stop();
    await bench.farm.close();
  }
}

interface FarmSetup {
  slots: number;
  tasks: number;
  steps: number;
  stepS: number;
  loadS: number;
}

async function farmSimulation(session: Session) {
  const setup: FarmSetup = quick
    ? { slots: 4, tasks: 60, steps: 5, stepS: 0.04, loadS: 0.04 }
    : { slots: 4, tasks: 200, steps: 10, stepS: 0.1, loadS: 0.2 };
  const models = mixedModels(setup.tasks);
  const affinity = await farmRun(session, "affinity", models, setup);
  const fifo = await farmRun(session, "fifo", models, setup);
  // Lower bound: the generation work the engines measured, plus the fewest loads any schedule needs
  // (each slot loads once), spread evenly over the slots. It ignores every orchestration cost.
  const lowerBound = (run: { generationS: number }) =>
    (run.generationS + setup.slots * setup.loadS) / setup.slots;
  const describeRun = (run: Awaited<ReturnType<typeof farmRun>>) => ({
    makespan_s: round(run.makespanS),
    lower_bound_s: round(lowerBound(run)),
    ratio: round(run.makespanS / lowerBound(run), 3),
    model_loads: run.loads,
    model_switches: run.switches,
    measured_load_s: round(median(run.loadTimes), 3),
  });
  return {
    setup: {
      ...setup,
      generation_s_per_job: setup.steps * setup.stepS,
      load_s: setup.loadS,
      mix: Object.fromEntries(MODELS.map((m) => [m, models.filter((x) => x === m).length])),
    },
    affinity: describeRun(affinity),
    fifo: describeRun(fifo),
  };
}

function rssMb(pid: number, field = "VmRSS"): Promise<number> {
  return readFile(`/proc/${pid}/status`, "utf8").then((status) => {
    const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status);
    return Number(match?.[1] ?? Number.NaN) / 1024;
  });
}

/** 4. The real `wgp-farm worker` with 8 slots: the Node process's memory (engines are other processes). */
async function workerRss(session: Session) {
  const bench = await openBench(session, "rss");
  const jobsPerModel = quick ? 20 : 100;
  const gpus = "0,1,2,3,4,5,6,7";
  const worker = await spawnWorker(session, bench, [
    "--engine",
    "dry-run",
    "--dry-run-duration",
    "0",
    "--gpus",
    gpus,
    "--slots",
    "8",
  ]);
  try {
    const idleRss = await rssMb(worker.pid);
    const tasks = MODELS.flatMap((model) =>
      Array.from({ length: jobsPerModel }, (_, i) => task(`rss-${model}-${i}`, model, 1)),
    );
    await importTasks(bench, tasks);
    for (const t of tasks) await waitFinished(bench, String(t.model), String(t.task_id), 20);
    await sleep(2_000);
    return {
      slots: 8,
      jobs: tasks.length,
      models: MODELS.length,
      idle_rss_mb: round(idleRss, 1),
      rss_after_jobs_mb: round(await rssMb(worker.pid), 1),
      peak_rss_mb: round(await rssMb(worker.pid, "VmHWM"), 1),
    };
  } finally {
    await worker.stop();
    await bench.farm.close();
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), "wgp-farm-worker-bench-"));
  const redis = await RedisServerProcess.start({ dataDir: path.join(dir, "redis"), persistence: "none" });
  const session: Session = { redis, dir, prefixCounter: 0 };
  try {
    const pickup = await pickupLatency(session);
    const overhead = await orchestrationOverhead(session);
    const farm = await farmSimulation(session);
    const rss = await workerRss(session);
    const rows: BenchRow[] = [
      {
        measure: "pickup latency, idle slot, job queued by the import → engine generate, median",
        value: `${pickup.job_creation_to_generate.median_ms} ms`,
        target: "≤ 5 ms",
        pass: pickup.job_creation_to_generate.median_ms <= 5,
      },
      {
        measure: "pickup latency, idle slot, job queued by the import → engine generate, p99",
        value: `${pickup.job_creation_to_generate.p99_ms} ms`,
        target: "≤ 50 ms",
        pass: pickup.job_creation_to_generate.p99_ms <= 50,
      },
      {
        measure:
          "… from the start of the import call (validation, task index, add) → engine generate, median / p99",
        value: `${pickup.import_to_generate.median_ms} ms / ${pickup.import_to_generate.p99_ms} ms`,
      },
      {
        measure: "… from the start of the import call → WanGP submit_task inside engine-py, median / p99",
        value: `${pickup.import_to_wangp_submit.median_ms} ms / ${pickup.import_to_wangp_submit.p99_ms} ms`,
      },
      {
        measure: "orchestration overhead per job (zero-time engine), median",
        value: `${overhead.in_job_overhead.median_ms} ms in the job + ${overhead.gap_between_jobs.median_ms} ms between jobs (engine round trip ${overhead.engine_round_trip.median_ms} ms apart)`,
        target: "≤ 10 ms",
        pass: overhead.in_job_overhead.median_ms + overhead.gap_between_jobs.median_ms <= 10,
      },
      {
        measure: `farm: ${farm.setup.slots} slots, ${MODELS.length} models, ${farm.setup.tasks} tasks, makespan / lower bound (scheduler)`,
        value: `${farm.affinity.ratio} (${farm.affinity.makespan_s} s / ${farm.affinity.lower_bound_s} s), ${farm.affinity.model_loads} model loads`,
        target: "≤ 1.05",
        pass: farm.affinity.ratio <= 1.05,
      },
      {
        measure: "farm: same tasks, plain FIFO",
        value: `${farm.fifo.ratio} (${farm.fifo.makespan_s} s / ${farm.fifo.lower_bound_s} s), ${farm.fifo.model_loads} model loads`,
      },
      {
        measure: "Node worker RSS, 8 slots (engines excluded), after jobs on 3 models",
        value: `${rss.rss_after_jobs_mb} MB (idle ${rss.idle_rss_mb} MB, peak ${rss.peak_rss_mb} MB)`,
        target: "≤ 150 MB",
        pass: rss.peak_rss_mb <= 150,
      },
    ];
    printBenchResult({
      title: "GPU worker (scheduling, pickup, overhead, memory)",
      method: `Private redis-server; the real engine-py on the WanGP test double (fake load and step times). Pickup: ${pickup.runs} single imports (the import-tasks code path) into an idle slot; timed from the job's creation time (ms, floored: up to 1 ms too long) and from the start of the import call of a \`wgp-farm worker\` process, ended by the generate command reaching engine-py (a probe loaded with --import) and by WanGP's submit_task (the double's record). Overhead: ${overhead.jobs} back-to-back one-step jobs with zero load and step time in a \`wgp-farm worker\` process; a job's time in the worker minus the engine's, and the gap before the next job. Farm: tasks queued one by one into paused queues, the start is the resume; makespan to the last completion; lower bound = (engine-measured generation + one model load per slot) / slots. RSS: the real \`wgp-farm worker\` process with 8 dry-run slots.`,
      rows,
      notes: [
        `farm setup: ${farm.setup.generation_s_per_job}s generation per job (${farm.setup.steps} steps), ${farm.setup.load_s}s per model load, mix ${JSON.stringify(farm.setup.mix)}`,
      ],
      details: { pickup, overhead, farm, rss },
    });
  } finally {
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
