/**
 * Engine benchmark: EngineProcess + the real engine-py (wangp adapter) on the WanGP test double
 * with zero load and step time, so only the bridge's own costs are measured. RSS is read after
 * job 100 and after the last job (the first 100 jobs warm up the round-trip measurement).
 *
 *   node libs/engine/bench/engine-bench.ts [--round-trip-jobs 500] [--memory-jobs 5000] [--idle-s 5]
 *
 * Needs `npm run build` first (it imports ../dist). Prints one JSON object on stdout. Linux only
 * (it reads /proc for RSS and CPU time).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createLogger } from "@wgp-farm/config";
import { printBenchResult } from "../../../test/bench/bench-result.ts";
import { EngineProcess } from "../dist/index.js";

const FAKE_WANGP = fileURLToPath(new URL("../../../test/fixtures/fake-wangp", import.meta.url));
const TARGET_MEDIAN_MS = 5;
const TARGET_GROWTH_PERCENT = 10;
const MEMORY_BASELINE_JOBS = 100;

const { values } = parseArgs({
  options: {
    "round-trip-jobs": { type: "string", default: "500" },
    "memory-jobs": { type: "string", default: "5000" },
    "idle-s": { type: "string", default: "5" },
    steps: { type: "string", default: "4" },
  },
});
const roundTripJobs = Number(values["round-trip-jobs"]);
const memoryJobs = Number(values["memory-jobs"]);
const idleSeconds = Number(values["idle-s"]);
const steps = Number(values.steps);

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((entry) => entry.startsWith("VmRSS:"));
  return Number(line?.split(/\s+/)[1]) / 1024;
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  return (Number(fields[11]) + Number(fields[12])) / ticks;
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN;
}

const round = (value: number, digits = 3) => Number(value.toFixed(digits));

async function main(): Promise<void> {
  const workDir = await mkdtemp(path.join(tmpdir(), "wgp-engine-bench-"));
  const engine = new EngineProcess({
    adapter: "wangp",
    wangpRoot: FAKE_WANGP,
    configDir: path.join(workDir, "gpu0"),
    logger: createLogger({ name: "engine-bench", level: "silent" }),
    env: { FAKE_WANGP_LOAD_S: "0", FAKE_WANGP_STEP_S: "0", PYTHONDONTWRITEBYTECODE: "1" },
  });
  const ready = await engine.start();
  const pid = engine.pid as number;
  let jobNumber = 0;

  async function runJob(): Promise<number> {
    jobNumber += 1;
    const outputDir = path.join(workDir, "staging", `job-${jobNumber}`);
    const started = performance.now();
    await engine.generate({
      id: `bench-${jobNumber}`,
      settings: { model_type: "t2v", prompt: "benchmark", num_inference_steps: steps, seed: jobNumber },
      outputDir,
      outputName: "output",
    });
    const elapsed = performance.now() - started;
    await rm(outputDir, { recursive: true, force: true });
    return elapsed;
  }

  try {
    while (jobNumber < MEMORY_BASELINE_JOBS) await runJob();
    const rssAfterBaseline = rssMb(pid);
    const times: number[] = [];
    for (let i = 0; i < roundTripJobs; i += 1) times.push(await runJob());
    times.sort((a, b) => a - b);
    const pings: number[] = [];
    for (let i = 0; i < 200; i += 1) pings.push(await engine.ping());
    pings.sort((a, b) => a - b);

    const cpuBefore = cpuSeconds(pid);
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
    const idleCpuPercent = ((cpuSeconds(pid) - cpuBefore) / idleSeconds) * 100;
    const idleRss = rssMb(pid);

    while (jobNumber < memoryJobs) await runJob();
    const rssAfterAll = rssMb(pid);
    const growthPercent = ((rssAfterAll - rssAfterBaseline) / rssAfterBaseline) * 100;

    const median = percentile(times, 0.5);
    const details = {
      setup: {
        double: "test/fixtures/fake-wangp, FAKE_WANGP_LOAD_S=0, FAKE_WANGP_STEP_S=0",
        steps_per_job: steps,
        python: ready.python,
        node: process.version,
        cpu: cpus()[0]?.model,
      },
      round_trip: {
        jobs: times.length,
        median_ms: round(median),
        p95_ms: round(percentile(times, 0.95)),
        p99_ms: round(percentile(times, 0.99)),
      },
      ping: { median_ms: round(percentile(pings, 0.5)) },
      idle: { rss_mb: round(idleRss, 1), cpu_percent: round(idleCpuPercent, 2), sampled_s: idleSeconds },
      memory: {
        rss_after_100_jobs_mb: round(rssAfterBaseline, 1),
        rss_after_all_jobs_mb: round(rssAfterAll, 1),
        jobs: memoryJobs,
      },
    };
    printBenchResult({
      title: "Engine round trip (EngineProcess + engine-py)",
      method: `EngineProcess driving the real engine-py (wangp adapter) on the WanGP test double with zero load and step time, ${steps} steps per job; ${times.length} timed jobs after 100 warm-up jobs; RSS of the Python process from /proc.`,
      rows: [
        {
          measure: "job round trip, median",
          value: `${round(median, 2)} ms`,
          target: `≤ ${TARGET_MEDIAN_MS} ms`,
          pass: median <= TARGET_MEDIAN_MS,
        },
        { measure: "job round trip, p99", value: `${round(percentile(times, 0.99), 2)} ms` },
        { measure: "ping round trip, median", value: `${round(percentile(pings, 0.5), 2)} ms` },
        { measure: "engine-py RSS, idle", value: `${round(idleRss, 1)} MB` },
        { measure: `engine-py CPU, idle (${idleSeconds} s)`, value: `${round(idleCpuPercent, 2)} %` },
        {
          measure: `engine-py RSS after ${memoryJobs.toLocaleString("en-US")} jobs vs after 100`,
          value: `${round(rssAfterAll, 1)} MB vs ${round(rssAfterBaseline, 1)} MB (${growthPercent >= 0 ? "+" : ""}${round(growthPercent, 1)} %)`,
          target: `within ${TARGET_GROWTH_PERCENT} %`,
          pass: Math.abs(growthPercent) <= TARGET_GROWTH_PERCENT,
        },
      ],
      details,
    });
  } finally {
    await engine.shutdown();
    await rm(workDir, { recursive: true, force: true });
  }
}

await main();
