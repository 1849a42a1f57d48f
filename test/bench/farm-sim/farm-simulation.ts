/**
 * The farm simulator: a private redis-server, `slots` slots (8 per worker, as a GPU host would run
 * them) spread over a few Node processes on virtual engines, tasks on `models` model queues. Three
 * phases, each measured with Redis's own INFO counters:
 *
 * 1. busy: `tasksPerSlot` tasks per slot, mixed over the models, imported at once into the fresh
 *    farm; makespan against its lower bound, Redis calls and CPU per job, XREADs per second;
 * 2. idle: the farm with nothing to do, per second;
 * 3. arrivals: single tasks, one at a time, into the idle farm; Redis work per arrival and pickup
 *    latency (job created → handed to the engine).
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import {
  FarmConnection,
  importTaskSource,
  RedisServerProcess,
  RedisTaskSink,
  readWorkEntry,
} from "@wgp-farm/queue";
import { median, percentile } from "../bench-result.ts";
import { CORES, machineCpuSeconds, processCpuSeconds } from "./cpu-meter.ts";
import { decisionFile, readDecisions } from "./decision-records.ts";
import { EngineRecords } from "./engine-records.ts";
import { type PickupSplit, splitPickups, type TracedArrival } from "./pickup-split.ts";
import { readTraces } from "./pickup-trace-file.ts";
import { type RedisDelta, type RedisReading, readRedis, redisDelta } from "./redis-meter.ts";
import { explainSchedule, type ScheduleExplanation } from "./schedule-explain.ts";
import { type SimHost, type SimHostOptions, startSimHost, traceFileOf } from "./sim-host.ts";
import type { EngineRecord, VirtualTimings } from "./virtual-engine.ts";

const SIM_HOST = fileURLToPath(new URL("./sim-host.ts", import.meta.url));
const SLOTS_PER_WORKER = 8;
export const BUSY_WINDOW_FILE = "busy-window.json";

export interface FarmSimulationOptions {
  slots: number;
  models: number;
  /** Node processes the workers are spread over (0: all in this process, for the short test). */
  hostProcesses: number;
  tasksPerSlot: number;
  steps: number;
  timings: VirtualTimings;
  idleSeconds: number;
  arrivals: number;
  /** Log every slot's scheduling decisions and explain the busy phase's makespan (schedule-explain.ts). */
  explain?: boolean;
  /** Write each host process's V8 CPU profile (`<host>.cpuprofile`) into this folder (hosts run as processes only). */
  cpuProfDir?: string;
}

export interface FarmSimulationResult {
  slots: number;
  models: number;
  workers: number;
  busy: {
    jobs: number;
    makespanS: number;
    lowerBoundS: number;
    ratio: number;
    /** The best schedule of whole jobs on whole slots (`wholeJobsBoundMs`), and makespan against it. */
    wholeJobsBoundS: number;
    wholeJobsRatio: number;
    callsPerJob: number;
    cpuMsPerJob: number;
    xreadPerS: number;
    redisCpuPercent: number;
    byCommand: Record<string, number>;
    schedule: ScheduleSummary;
    explain?: ScheduleExplanation;
  };
  idle: { callsPerS: number; redisCpuPercent: number; byCommand: Record<string, number> };
  arrivals: {
    count: number;
    callsPerArrival: number;
    cpuMsPerArrival: number;
    pickupP50Ms: number;
    pickupP99Ms: number;
    /** Medians of pickup's two legs: job created → its work entry written; entry → engine. */
    announcedP50Ms: number;
    announcedToEngineP50Ms: number;
    /** Medians of the second leg's two parts: entry → job fetched (wake-up, decision, fetch); fetched → engine. */
    announcedToFetchP50Ms: number;
    fetchToEngineP50Ms: number;
    /** Entry → fetched in steps, from the hosts' pickup traces (hosts run as processes only). */
    split: PickupSplit;
    byCommand: Record<string, number>;
  };
  connections: { idle: number; peak: number };
  /** Every job ran exactly once (the short test's check). */
  startedOnce: boolean;
}

/** Where the busy phase's time went, from the engines' records: what keeps the makespan off its bound. */
export interface ScheduleSummary {
  /** Import start → first job handed to an engine (ms). */
  firstPickupMs: number;
  /** Import start → the last slot's first job (ms): how long the farm took to get every slot busy. */
  lastFirstPickupMs: number;
  /** Jobs per slot: fewest, most. */
  jobsPerSlot: [number, number];
  modelLoads: number;
  /** Per slot, time between one job's engine end and the next job's start, summed over the farm / jobs (ms). */
  meanGapMs: number;
  /** The largest such gap (ms). */
  maxGapMs: number;
  /** Import start → its last batch accepted (ms). */
  importMs: number;
  /** The simulator's Node processes (every worker of the farm), % of one core each, on average. */
  simHostCpuPercent: number[];
  /** The whole machine's CPU in use (every process of every user), % of all its cores. */
  machineCpuPercent: number;
  cores: number;
}

interface CpuReading {
  at: number;
  hosts: number[];
  machine: { busy: number; total: number };
}

async function readCpu(farm: Farm): Promise<CpuReading> {
  return {
    at: performance.now(),
    hosts: await Promise.all(farm.hosts.map((host) => host.cpuSeconds())),
    machine: await machineCpuSeconds(),
  };
}

function cpuDelta(before: CpuReading, after: CpuReading) {
  const seconds = (after.at - before.at) / 1000;
  return {
    simHostCpuPercent: after.hosts.map((cpu, i) =>
      Math.round((100 * (cpu - (before.hosts[i] ?? 0))) / seconds),
    ),
    machineCpuPercent: Math.round(
      (100 * (after.machine.busy - before.machine.busy)) / (after.machine.total - before.machine.total),
    ),
    cores: CORES,
  };
}

function summarizeSchedule(
  records: readonly EngineRecord[],
  startMs: number,
): Omit<ScheduleSummary, "importMs" | "simHostCpuPercent" | "machineCpuPercent" | "cores"> {
  const bySlot = new Map<string, EngineRecord[]>();
  for (const r of records) bySlot.set(r.slot, [...(bySlot.get(r.slot) ?? []), r]);
  let gapSum = 0;
  let gaps = 0;
  let maxGap = 0;
  const counts: number[] = [];
  const firsts: number[] = [];
  for (const jobs of bySlot.values()) {
    jobs.sort((a, b) => a.t - b.t);
    counts.push(jobs.length);
    firsts.push((jobs[0]?.t ?? startMs) - startMs);
    for (let i = 1; i < jobs.length; i++) {
      const prev = jobs[i - 1] as EngineRecord;
      const gap = (jobs[i] as EngineRecord).t - (prev.t + prev.load_ms + prev.generation_ms);
      gapSum += gap;
      gaps += 1;
      maxGap = Math.max(maxGap, gap);
    }
  }
  return {
    firstPickupMs: Math.round(Math.min(...firsts)),
    lastFirstPickupMs: Math.round(Math.max(...firsts)),
    jobsPerSlot: [Math.min(...counts), Math.max(...counts)],
    modelLoads: records.filter((r) => r.load_ms > 0).length,
    meanGapMs: gaps === 0 ? 0 : Math.round(gapSum / gaps),
    maxGapMs: Math.round(maxGap),
  };
}

/**
 * A lower bound on the makespan of `jobs` (their models), each `jobMs` long, on `slots` slots that
 * load a model in `loadMs`: the busiest slot runs at least k = ⌈jobs / slots⌉ jobs after a load; if the
 * models' jobs cannot be dealt out k at a time to one model per slot (Σ ⌈n_m / k⌉ > slots), some slot
 * also runs one more job or loads twice. The plain bound (work / slots) ignores both.
 */
export function wholeJobsBoundMs(
  models: readonly string[],
  slots: number,
  jobMs: number,
  loadMs: number,
): number {
  const k = Math.ceil(models.length / slots);
  const perModel = new Map<string, number>();
  for (const model of models) perModel.set(model, (perModel.get(model) ?? 0) + 1);
  const slotsNeeded = [...perModel.values()].reduce((sum, n) => sum + Math.ceil(n / k), 0);
  return k * jobMs + loadMs + (slotsNeeded > slots ? Math.min(jobMs, loadMs) : 0);
}

/** Slots whose last job started before `at` was of `model`: they hold it (the virtual engine keeps it loaded). */
function holdersAt(records: readonly EngineRecord[], model: string, at: number): number {
  const last = new Map<string, EngineRecord>();
  for (const r of records) {
    const seen = last.get(r.slot);
    if (r.t < at && (!seen || r.t > seen.t)) last.set(r.slot, r);
  }
  return [...last.values()].filter((r) => r.model === model).length;
}

const modelName = (i: number) => `sim_m${String(i).padStart(2, "0")}`;

function task(id: string, model: string, steps: number): Record<string, unknown> {
  return { task_id: id, prompt: `sim ${id}`, model, steps, seed: 1 };
}

/** Deterministic mix (a small LCG), so that every run sees the same task list. */
function mixedModels(count: number, models: number): string[] {
  let state = 42;
  return Array.from({ length: count }, () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return modelName(state % models);
  });
}

interface Farm {
  redis: RedisServerProcess;
  conn: FarmConnection;
  dir: string;
  hosts: SimHost[];
}

async function startHostProcess(options: SimHostOptions, cpuProfDir?: string): Promise<SimHost> {
  // The profile is written when the host exits (it exits on SIGTERM, at the simulation's end).
  const profile = cpuProfDir
    ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=${options.host}.cpuprofile`]
    : [];
  const child = spawn(process.execPath, [...profile, SIM_HOST, JSON.stringify(options)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const ready = Promise.withResolvers<void>();
  child.stdout.on("data", (chunk: Buffer) => {
    if (chunk.toString().includes("ready")) ready.resolve();
  });
  child.once("exit", (code) =>
    ready.reject(new Error(`simulated host exited with ${code} before it was ready`)),
  );
  try {
    await ready.promise;
  } catch (error) {
    await exited;
    throw error;
  }
  const pid = child.pid as number;
  return {
    recordFile: path.join(options.dir, `${options.host}.jsonl`),
    traceFile: traceFileOf(options),
    decisionFile: decisionFile(options.dir, options.host),
    cpuSeconds: () => processCpuSeconds(pid),
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function startFarm(options: FarmSimulationOptions): Promise<Farm> {
  const dir = await mkdtemp(path.join(tmpdir(), "wgp-farm-sim-"));
  const redis = await RedisServerProcess.start({ dataDir: path.join(dir, "redis"), persistence: "none" });
  const conn = await FarmConnection.open(redis.url, "sim");
  await conn.queues.registerModels(Array.from({ length: options.models }, (_, i) => modelName(i)));
  const workers = Math.ceil(options.slots / SLOTS_PER_WORKER);
  const processes = Math.max(1, options.hostProcesses);
  const hosts: SimHost[] = [];
  const farm = { redis, conn, dir, hosts };
  try {
    await startHosts(options, farm, processes, workers);
  } catch (error) {
    await stopFarm(farm);
    throw error;
  }
  return farm;
}

async function stopFarm(farm: Farm): Promise<void> {
  await Promise.all(farm.hosts.map((host) => host.stop()));
  await farm.conn.close();
  await farm.redis.stop();
  await rm(farm.dir, { recursive: true, force: true });
}

/** The hosts are started one after the other; a host that cannot start fails the simulation. */
async function startHosts(options: FarmSimulationOptions, farm: Farm, processes: number, workers: number) {
  const { redis, dir, hosts } = farm;
  for (let p = 0; p < processes; p++) {
    const count = Math.floor(workers / processes) + (p < workers % processes ? 1 : 0);
    if (count === 0) continue;
    const hostOptions: SimHostOptions = {
      redisUrl: redis.url,
      prefix: "sim",
      dir,
      host: `host${p}`,
      workers: count,
      slotsPerWorker: SLOTS_PER_WORKER,
      timings: options.timings,
      explain: options.explain,
    };
    hosts.push(
      options.hostProcesses === 0
        ? await startSimHost(hostOptions)
        : await startHostProcess(hostOptions, options.cpuProfDir),
    );
  }
}

async function importTasks(conn: FarmConnection, tasks: readonly Record<string, unknown>[]): Promise<void> {
  const body = Buffer.from(JSON.stringify(tasks));
  const report = await importTaskSource(
    new RedisTaskSink(conn, { attempts: 1, backoffMs: 1000 }),
    {
      stream: (async function* () {
        yield body;
      })(),
      baseDir: "/",
      name: "sim",
    },
    {},
  );
  if (report.invalid.length > 0) throw new Error(`invalid sim tasks: ${JSON.stringify(report.invalid[0])}`);
}

/** Jobs that ended, however. */
async function ended(farm: Farm): Promise<number> {
  const counts = await farm.conn.redis.hmget(farm.conn.keys.stats, "completed", "failed", "quarantined");
  return counts.reduce((sum, count) => sum + Number(count ?? 0), 0);
}

async function untilCompleted(farm: Farm, count: number, pollMs: number): Promise<number> {
  while ((await ended(farm)) < count) await sleep(pollMs);
  return performance.timeOrigin + performance.now();
}

/** The monotonic clock V8's CPU profiles stamp their samples with (µs): the same in every process. */
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

/** The busy phase on the profiles' clock, for cpu-profile-summary.ts (`busy-window.json` beside them). */
async function writeBusyWindow(dir: string, window: { fromUs: number; toUs: number }): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, BUSY_WINDOW_FILE), `${JSON.stringify(window)}\n`);
}

const round = (value: number, digits = 2) => Number(value.toFixed(digits));
const perSecond = (delta: RedisDelta, value: number) => value / delta.seconds;

export async function simulateFarm(options: FarmSimulationOptions): Promise<FarmSimulationResult> {
  const farm = await startFarm(options);
  const redis = farm.conn.redis;
  const engineRecords = new EngineRecords(farm.hosts.map((host) => host.recordFile));
  try {
    // 1. Busy: the fresh farm gets every task at once.
    const models = mixedModels(options.slots * options.tasksPerSlot, options.models);
    const tasks = models.map((model, i) => task(`busy-${i}`, model, options.steps));
    const beforeBusy = await readRedis(redis);
    const cpuBeforeBusy = await readCpu(farm);
    const start = performance.timeOrigin + performance.now();
    const startUs = monotonicUs();
    await importTasks(farm.conn, tasks);
    const importMs = performance.timeOrigin + performance.now() - start;
    let peakClients = beforeBusy.clients;
    const sampling = (async () => {
      while ((await ended(farm)) < tasks.length) {
        peakClients = Math.max(peakClients, (await readRedis(redis)).clients);
        await sleep(1_000);
      }
    })();
    const end = await untilCompleted(farm, tasks.length, 100);
    if (options.cpuProfDir)
      await writeBusyWindow(options.cpuProfDir, { fromUs: startUs, toUs: monotonicUs() });
    await sampling;
    const busy = redisDelta(beforeBusy, await readRedis(redis));
    const busyCpu = cpuDelta(cpuBeforeBusy, await readCpu(farm));
    const busyRecords = [...(await engineRecords.all())];
    const generationMs = busyRecords.reduce((sum, r) => sum + r.generation_ms, 0);
    const lowerBoundS = (generationMs + options.slots * options.timings.loadMs) / options.slots / 1000;
    const makespanS = (end - start) / 1000;
    const explain = options.explain
      ? explainSchedule(
          busyRecords,
          await readDecisions(farm.hosts.map((host) => host.decisionFile)),
          start,
          end,
        )
      : undefined;
    const wholeJobsBoundS =
      wholeJobsBoundMs(models, options.slots, generationMs / busyRecords.length, options.timings.loadMs) /
      1000;

    // 2. Idle.
    await sleep(2_000);
    const beforeIdle = await readRedis(redis);
    await sleep(options.idleSeconds * 1000);
    const afterIdle = await readRedis(redis);
    const idle = redisDelta(beforeIdle, afterIdle);

    // 3. Arrivals into the idle farm, one at a time; pickup seen in the engines' records (no Redis reads).
    const ids: string[] = [];
    const beforeArrivals = await readRedis(redis);
    const arrivalsFrom = `${Date.now()}-0`;
    for (let i = 0; i < options.arrivals; i++) {
      const id = `arrival-${i}`;
      ids.push(id);
      await importTasks(farm.conn, [task(id, modelName(i % options.models), 1)]);
      while (!(await engineRecords.has(id))) await sleep(5);
      await sleep(options.timings.stepMs + options.timings.loadMs + 200);
    }
    const afterArrivals = await readRedis(redis);
    const arrivalDelta = redisDelta(beforeArrivals, afterArrivals);
    const idleCallsPerS = perSecond(idle, idle.calls);
    const idleCpuPerS = perSecond(idle, idle.cpuS);
    const arrivalCalls = (arrivalDelta.calls - idleCallsPerS * arrivalDelta.seconds) / options.arrivals;
    const arrivalCpuMs = ((arrivalDelta.cpuS - idleCpuPerS * arrivalDelta.seconds) * 1000) / options.arrivals;
    const records = await engineRecords.all();
    // Each arrival is one task of one model: the i-th "add" entry of the work stream announced it.
    const announcedAt = (await redis.xrange(farm.conn.keys.workSignal, arrivalsFrom, "+"))
      .filter(([, fields]) => readWorkEntry(fields)?.reason === "add")
      .map(([entryId]) => Number(entryId.split("-")[0]));
    const pickups: number[] = [];
    const announced: number[] = [];
    const announcedToEngine: number[] = [];
    const announcedToFetch: number[] = [];
    const fetchToEngine: number[] = [];
    const traced: TracedArrival[] = [];
    for (const [i, id] of ids.entries()) {
      const job = await farm.conn.queues.forModel(modelName(i % options.models)).getJob(id);
      const record = records.find((r) => r.id === id);
      if (!job || !record) continue;
      pickups.push(record.t - job.timestamp);
      const at = announcedAt[i];
      if (at === undefined) continue;
      announced.push(at - job.timestamp);
      announcedToEngine.push(record.t - at);
      // BullMQ stamps `processedOn` when the slot's fetch moved the job to active (this machine's clock).
      if (job.processedOn === undefined) continue;
      announcedToFetch.push(job.processedOn - at);
      fetchToEngine.push(record.t - job.processedOn);
      traced.push({
        id,
        entryAt: at,
        processedOn: job.processedOn,
        engineAt: record.t,
        holders: holdersAt(records, modelName(i % options.models), record.t),
      });
    }
    const split = splitPickups(await readTraces(farm.hosts.map((host) => host.traceFile)), traced);
    const counts = new Map<string, number>();
    for (const r of records) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
    const failed = Number((await redis.hget(farm.conn.keys.stats, "failed")) ?? 0);
    const startedOnce =
      failed === 0 &&
      [...counts.values()].every((n) => n === 1) &&
      counts.size === tasks.length + options.arrivals;
    return {
      slots: options.slots,
      models: options.models,
      workers: Math.ceil(options.slots / SLOTS_PER_WORKER),
      busy: {
        jobs: tasks.length,
        makespanS: round(makespanS),
        lowerBoundS: round(lowerBoundS),
        ratio: round(makespanS / lowerBoundS, 3),
        wholeJobsBoundS: round(wholeJobsBoundS),
        wholeJobsRatio: round(makespanS / wholeJobsBoundS, 3),
        callsPerJob: round(busy.calls / tasks.length, 1),
        cpuMsPerJob: round((busy.cpuS * 1000) / tasks.length, 3),
        xreadPerS: round(perSecond(busy, busy.byCommand.xread ?? 0), 1),
        redisCpuPercent: round((100 * busy.cpuS) / busy.seconds, 1),
        byCommand: busy.byCommand,
        schedule: { ...summarizeSchedule(busyRecords, start), importMs: Math.round(importMs), ...busyCpu },
        explain,
      },
      idle: {
        callsPerS: round(idleCallsPerS, 1),
        redisCpuPercent: round(100 * idleCpuPerS, 2),
        byCommand: idle.byCommand,
      },
      arrivals: {
        count: options.arrivals,
        callsPerArrival: round(arrivalCalls, 1),
        cpuMsPerArrival: round(arrivalCpuMs, 3),
        pickupP50Ms: round(median(pickups)),
        pickupP99Ms: round(percentile(pickups, 0.99)),
        announcedP50Ms: round(median(announced)),
        announcedToEngineP50Ms: round(median(announcedToEngine)),
        announcedToFetchP50Ms: round(median(announcedToFetch)),
        fetchToEngineP50Ms: round(median(fetchToEngine)),
        split,
        byCommand: arrivalDelta.byCommand,
      },
      connections: { idle: afterIdle.clients, peak: peakClients },
      startedOnce,
    };
  } finally {
    await stopFarm(farm);
  }
}

export type { RedisReading };
