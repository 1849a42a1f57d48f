/**
 * Load: 100,000 queued tasks across 10 models, 8 slots (2 workers × 4), the dry-run engine with zero
 * duration (engine-py without WanGP: every job still goes through the scheduler, the lock, the engine
 * round trip and the staged publish of its folder). While it runs: throughput, Redis memory, worker
 * RSS, and the response times of the dashboard and of `wgp-farm status`.
 */
import { createWriteStream } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { MODELS } from "../../bench/bench-tasks.ts";
import { ChaosFarm, keepFiles } from "../harness/chaos-farm.ts";
import { DashboardProcess } from "../harness/dashboard-process.ts";
import { finishedCount } from "../harness/farm-watch.ts";
import { type Timed, timedCli, timedFetch } from "../harness/probes.ts";
import { enginesOf, residentMiB } from "../harness/process-tree.ts";
import {
  formatMs,
  median,
  percentile,
  type Scale,
  type ScenarioResult,
  startClock,
} from "../harness/scenario-result.ts";
import { WorkerFleet } from "../harness/worker-process.ts";

const TASKS: Record<Scale, number> = { short: 2_000, full: 100_000 };
const SAMPLE_EVERY_MS = 2_000;

async function writeTasks(file: string, count: number): Promise<void> {
  const out = createWriteStream(file);
  for (let i = 0; i < count; i++) {
    const task = {
      task_id: `load-${i}`,
      prompt: `a generated prompt number ${i}, cinematic lighting`,
      model: MODELS[i % MODELS.length],
      steps: 4,
      seed: i,
      output_sub_dir: `m${i % MODELS.length}/b${Math.floor(i / 1000)}/load-${i}`,
    };
    if (!out.write(`${JSON.stringify(task)}\n`))
      await new Promise<void>((resolve) => out.once("drain", () => resolve()));
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));
}

function summary(samples: readonly Timed[]): string {
  const ms = samples.map((s) => s.ms);
  const failed = samples.filter((s) => !s.ok).length;
  return `median ${formatMs(median(ms))}, p95 ${formatMs(percentile(ms, 95))}, max ${formatMs(Math.max(0, ...ms))} (${samples.length} requests${failed ? `, ${failed} failed` : ""})`;
}

/** Every published folder holds settings.json, task.json and result.json; counts them. */
async function countPublished(outputDir: string): Promise<{ folders: number; odd: string[] }> {
  let folders = 0;
  const odd: string[] = [];
  for (const model of await readdir(outputDir)) {
    if (model.startsWith(".wgp-farm")) continue;
    for (const batch of await readdir(path.join(outputDir, model))) {
      for (const task of await readdir(path.join(outputDir, model, batch))) {
        folders += 1;
        const files = (await readdir(path.join(outputDir, model, batch, task))).sort().join(",");
        if (files !== "result.json,settings.json,task.json") odd.push(`${model}/${batch}/${task}: ${files}`);
      }
    }
  }
  return { folders, odd };
}

export async function loadScenario(scale: Scale): Promise<ScenarioResult> {
  const total = TASKS[scale];
  const elapsed = startClock();
  const chaos = await ChaosFarm.create("load");
  const violations: string[] = [];
  const imported = await importThroughCli(chaos, total, violations);
  const dashboard = await DashboardProcess.start(chaos);
  const args = ["--dry-run-duration", "0"];
  const fleet = new WorkerFleet(chaos, [
    { name: "load-a", slots: 4, engine: "dry-run", args },
    { name: "load-b", slots: 4, engine: "dry-run", args },
  ]);
  const startedAt = performance.now();
  await fleet.start();
  const samples = await sampleUntilAllFinished(chaos, fleet, dashboard, total, scale, startedAt, violations);
  const runS = (performance.now() - startedAt) / 1000;
  const atEnd = await measureTheEnd(chaos);
  await dashboard.stop();
  await fleet.stop();
  const published = await checkThePublishedFolders(chaos, total, atEnd.counts, violations);
  checkProbes(samples, atEnd, violations);
  await chaos.close(keepFiles(violations));
  return report({ total, imported, samples, runS, atEnd, published, violations, elapsed });
}

interface Imported {
  timed: Timed;
  redisBefore: number;
  redisQueued: number;
}

/** Writes the JSON Lines file and imports it with `wgp-farm import-tasks`, Redis memory read around it. */
async function importThroughCli(chaos: ChaosFarm, total: number, violations: string[]): Promise<Imported> {
  const tasksFile = path.join(chaos.dir, "tasks.jsonl");
  await writeTasks(tasksFile, total);
  const redisBefore = await chaos.redisMemoryBytes();
  const timed = await timedCli(chaos, ["import-tasks", tasksFile, "--json", "--backoff-ms", "500"]);
  if (!timed.ok) violations.push(`import-tasks exited ${timed.code}: ${timed.detail}`);
  return { timed, redisBefore, redisQueued: await chaos.redisMemoryBytes() };
}

interface Samples {
  dashboard: Timed[];
  board: Timed[];
  metrics: Timed[];
  status: Timed[];
  redisMemory: number[];
  workerRss: number[];
  engineRss: number[];
  /** Tasks per second in each sampling window. */
  rates: number[];
}

/** Every 2 s until every task has finished (or the time is up, or a worker died): figures and probes. */
async function sampleUntilAllFinished(
  chaos: ChaosFarm,
  fleet: WorkerFleet,
  dashboard: DashboardProcess,
  total: number,
  scale: Scale,
  startedAt: number,
  violations: string[],
): Promise<Samples> {
  const samples: Samples = {
    dashboard: [],
    board: [],
    metrics: [],
    status: [],
    redisMemory: [],
    workerRss: [],
    engineRss: [],
    rates: [],
  };
  let lastDone = 0;
  let lastAt = performance.now();
  for (;;) {
    await sleep(SAMPLE_EVERY_MS);
    const done = await finishedCount(chaos, MODELS);
    const now = performance.now();
    samples.rates.push(((done - lastDone) * 1000) / (now - lastAt));
    lastDone = done;
    lastAt = now;
    await takeSample(chaos, fleet, dashboard, samples);
    if (done >= total) break;
    if ((now - startedAt) / 1000 > (scale === "full" ? 3_600 : 300)) {
      violations.push(`only ${done} of ${total} tasks finished in time`);
      break;
    }
    if (fleet.restarts > 0) {
      violations.push(`a worker died under load: ${fleet.history()[0]?.tail(20)}`);
      break;
    }
  }
  return samples;
}

/** Redis memory, the RSS of every worker and engine, and one timed request to each probe. */
async function takeSample(
  chaos: ChaosFarm,
  fleet: WorkerFleet,
  dashboard: DashboardProcess,
  samples: Samples,
): Promise<void> {
  samples.redisMemory.push(await chaos.redisMemoryBytes());
  for (const worker of fleet.workers()) {
    samples.workerRss.push((await residentMiB(worker.pid)) ?? 0);
    for (const engine of await enginesOf(worker.pid))
      samples.engineRss.push((await residentMiB(engine.pid)) ?? 0);
  }
  samples.dashboard.push(await timedFetch(new URL("farm/api/status", dashboard.url).href));
  samples.board.push(
    await timedFetch(
      new URL("queues/api/queues?activeQueue=model.t2v&status=completed&page=1", dashboard.url).href,
    ),
  );
  samples.metrics.push(await timedFetch(new URL("metrics", dashboard.url).href));
  samples.status.push(await timedCli(chaos, ["status", "--json"]));
}

interface AtEnd {
  counts: { completed: number; failed: number };
  redisEnd: number;
  status: Timed;
  ls: Timed;
}

/** Final job counts, Redis memory, and `status` / `ls` timed on the finished farm. */
async function measureTheEnd(chaos: ChaosFarm): Promise<AtEnd> {
  const counts = { completed: 0, failed: 0 };
  for (const model of MODELS) {
    const c = await chaos.farm.queues.forModel(model).getJobCounts("completed", "failed");
    counts.completed += c.completed ?? 0;
    counts.failed += c.failed ?? 0;
  }
  return {
    counts,
    redisEnd: await chaos.redisMemoryBytes(),
    status: await timedCli(chaos, ["status", "--json"]),
    ls: await timedCli(chaos, ["ls", "--json", "--limit", "50"]),
  };
}

/** Every task completed, with one complete folder each, and no staging folder left. */
async function checkThePublishedFolders(
  chaos: ChaosFarm,
  total: number,
  counts: AtEnd["counts"],
  violations: string[],
): Promise<{ folders: number }> {
  const published = await countPublished(chaos.outputDir);
  const staging = await readdir(path.join(chaos.outputDir, ".wgp-farm-staging")).catch(() => []);
  if (counts.completed !== total)
    violations.push(`${counts.completed} of ${total} completed, ${counts.failed} failed`);
  if (published.folders !== total) violations.push(`${published.folders} output folders for ${total} tasks`);
  violations.push(...published.odd.slice(0, 10).map((odd) => `unexpected files: ${odd}`));
  if (staging.length > 0) violations.push(`staging folders left: ${staging.length}`);
  return published;
}

/** No probe request failed while the farm was loaded, nor `ls` at the end. */
function checkProbes(samples: Samples, atEnd: AtEnd, violations: string[]): void {
  for (const [label, probes] of [
    ["farm view", samples.dashboard],
    ["Bull Board API", samples.board],
    ["metrics", samples.metrics],
    ["status", samples.status],
  ] as const) {
    const failed = probes.filter((p) => !p.ok);
    if (failed.length > 0)
      violations.push(`${label}: ${failed.length} request(s) failed: ${failed[0]?.detail}`);
  }
  if (!atEnd.ls.ok) violations.push(`wgp-farm ls failed: ${atEnd.ls.detail}`);
}

interface Outcome {
  total: number;
  imported: Imported;
  samples: Samples;
  runS: number;
  atEnd: AtEnd;
  published: { folders: number };
  violations: string[];
  elapsed: () => number;
}

function report({
  total,
  imported,
  samples,
  runS,
  atEnd,
  published,
  violations,
  elapsed,
}: Outcome): ScenarioResult {
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  const { redisBefore, redisQueued } = imported;
  const { counts } = atEnd;
  return {
    id: "load",
    title: `Load: ${total.toLocaleString("en")} tasks, 10 models, 8 slots`,
    trials: 1,
    tasks: total,
    faults: 0,
    lost: Math.max(0, total - counts.completed - counts.failed),
    duplicated: Math.max(0, published.folders - total),
    escaped: 0,
    recoverMs: [],
    recoveryMeaning: "no fault injected",
    violations,
    figures: [
      [
        "import (`wgp-farm import-tasks`, JSON Lines)",
        `${formatMs(imported.timed.ms)} (${Math.round(total / (imported.timed.ms / 1000)).toLocaleString("en")} tasks/s)`,
      ],
      ["all tasks run in", `${runS.toFixed(0)} s`],
      ["throughput, whole run", `${(total / runS).toFixed(0)} tasks/s`],
      [
        "throughput, 2 s windows (median / best)",
        `${median(samples.rates)?.toFixed(0)} / ${Math.max(...samples.rates).toFixed(0)} tasks/s`,
      ],
      [
        "Redis memory: empty / all queued / peak / all completed",
        `${mib(redisBefore)} / ${mib(redisQueued)} / ${mib(Math.max(...samples.redisMemory))} / ${mib(atEnd.redisEnd)}`,
      ],
      ["Redis memory per queued task", `${((redisQueued - redisBefore) / total / 1024).toFixed(2)} KiB`],
      [
        "worker process RSS (median / max)",
        `${median(samples.workerRss)?.toFixed(0)} / ${Math.max(...samples.workerRss).toFixed(0)} MiB`,
      ],
      [
        "engine-py RSS (median / max)",
        `${median(samples.engineRss)?.toFixed(0)} / ${Math.max(...samples.engineRss).toFixed(0)} MiB`,
      ],
      ["dashboard farm view (/farm/api/status) while loaded", summary(samples.dashboard)],
      ["Bull Board API (completed jobs page) while loaded", summary(samples.board)],
      ["dashboard /metrics while loaded", summary(samples.metrics)],
      ["`wgp-farm status --json` while loaded", summary(samples.status)],
      [
        "`wgp-farm status --json` / `ls --json --limit 50` at the end",
        `${formatMs(atEnd.status.ms)} / ${formatMs(atEnd.ls.ms)}`,
      ],
    ],
    method: [
      `${total.toLocaleString("en")} tasks (10 model types, ${total / 10} each) imported from a JSON Lines file by \`wgp-farm import-tasks\` into a private redis-server (AOF on), then run by 2 \`wgp-farm worker\` processes × 4 slots with \`--engine dry-run --dry-run-duration 0\`: no model time, so what is measured is the farm itself (scheduling, locks, engine round trip, staged publish, Redis).`,
      "Every 2 s while it runs: Redis used_memory, RSS of each worker and engine process, one request to each dashboard endpoint and one `wgp-farm status --json` (a fresh CLI process each time), timed.",
    ],
    durationS: elapsed(),
  };
}
