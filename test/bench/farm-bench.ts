/**
 * Farm simulator benchmark (issue 15): 1,000 slots on one Redis, 3 / 20 / 50 models, virtual
 * engines (test/bench/farm-sim). Prints one BenchResult line; the figures of the design before the
 * redesign were measured the same way and are kept in farm-sim/before-redesign.json, shown beside.
 *
 *   node test/bench/farm-bench.ts [--quick] [--save-as before] [--slots N] [--models 3,20] [--step-ms S] [--explain]
 *     [--cpu-prof-dir DIR]
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { type BenchRow, printBenchResult } from "./bench-result.ts";
import {
  type FarmSimulationOptions,
  type FarmSimulationResult,
  simulateFarm,
} from "./farm-sim/farm-simulation.ts";
import { formatExplanation } from "./farm-sim/schedule-explain.ts";

const round3 = (value: number) => Number(value.toFixed(3));
const BEFORE = new URL("./farm-sim/before-redesign.json", import.meta.url);

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    "save-as": { type: "string" },
    models: { type: "string" },
    slots: { type: "string" },
    // Longer virtual jobs show how much of the makespan is the farm's cost per job boundary.
    "step-ms": { type: "string" },
    // Where each slot's time went, and why it was idle (farm-sim/schedule-explain.ts), on stderr.
    explain: { type: "boolean", default: false },
    // Each simulator host process's V8 CPU profile, for farm-sim/cpu-profile-summary.ts.
    "cpu-prof-dir": { type: "string" },
  },
});
const quick = values.quick === true;
const slots = Number(values.slots ?? (quick ? 64 : 1000));
const modelCounts = (values.models ?? (quick ? "3,20" : "3,20,50")).split(",").map(Number);

const setup = (models: number): FarmSimulationOptions => ({
  slots,
  models,
  hostProcesses: 4,
  tasksPerSlot: 3,
  steps: 20,
  timings: {
    loadMs: quick ? 300 : 1_000,
    stepMs: Number(values["step-ms"] ?? (quick ? 100 : 400)),
  },
  idleSeconds: quick ? 5 : 10,
  arrivals: quick ? 10 : 15,
  explain: values.explain === true,
  cpuProfDir: values["cpu-prof-dir"] && path.resolve(values["cpu-prof-dir"], `${models}-models`),
});

const results: FarmSimulationResult[] = [];
/** Farm sizes that could not be simulated, and why (the design before issue 15 could not start 1,000 × 50). */
const failures: { slots: number; models: number; error: string }[] = [];
for (const models of modelCounts) {
  process.stderr.write(`farm simulation: ${slots} slots × ${models} models\n`);
  try {
    const result = await simulateFarm(setup(models));
    results.push(result);
    if (result.busy.explain) {
      process.stderr.write(`${formatExplanation(`${slots} × ${models}`, result.busy.explain)}\n`);
    }
  } catch (error) {
    failures.push({ slots, models, error: error instanceof Error ? error.message : String(error) });
  }
  if (values["save-as"]) await writeFile(BEFORE, `${JSON.stringify({ results, failures }, null, 2)}\n`);
}

const before: { results: FarmSimulationResult[]; failures: typeof failures } = await readFile(BEFORE, "utf8")
  .then((text) => JSON.parse(text) as typeof before)
  .catch(() => ({ results: [], failures: [] }));
const beforeOf = (r: FarmSimulationResult) =>
  before.results.find((b) => b.slots === r.slots && b.models === r.models);
const was = (r: FarmSimulationResult, value: (x: FarmSimulationResult) => string) => {
  const b = beforeOf(r);
  if (b) return ` (before: ${value(b)})`;
  const failed = before.failures.find((f) => f.slots === r.slots && f.models === r.models);
  return failed ? ` (before: could not run: ${failed.error})` : "";
};

const rows: BenchRow[] = results.flatMap((r) => {
  const size = `${r.slots} slots × ${r.models} models (${r.workers} workers)`;
  const idleCpu = (x: FarmSimulationResult) =>
    `${x.idle.redisCpuPercent} % of a core, ${x.idle.callsPerS} cmds/s`;
  const arrival = (x: FarmSimulationResult) =>
    `${x.arrivals.callsPerArrival} cmds, ${x.arrivals.cpuMsPerArrival} ms CPU`;
  const busy = (x: FarmSimulationResult) =>
    `${x.busy.callsPerJob} cmds, ${x.busy.cpuMsPerJob} ms CPU per job; ${x.busy.redisCpuPercent} % of a core; ${x.busy.xreadPerS} XREAD/s`;
  const conns = (x: FarmSimulationResult) => `${x.connections.idle} idle, ${x.connections.peak} peak`;
  const pickup = (x: FarmSimulationResult) => `${x.arrivals.pickupP50Ms} / ${x.arrivals.pickupP99Ms} ms`;
  const pickupLegs = ({ arrivals: a }: FarmSimulationResult) =>
    a.announcedP50Ms === undefined
      ? ""
      : ` (medians: job created → work entry ${a.announcedP50Ms} ms, entry → engine ${a.announcedToEngineP50Ms} ms` +
        (a.fetchToEngineP50Ms === undefined
          ? ")"
          : ` = entry → fetched ${a.announcedToFetchP50Ms} ms + fetched → engine ${a.fetchToEngineP50Ms} ms)`);
  const pickupSteps = ({ arrivals: { split: p } }: FarmSimulationResult) =>
    p
      ? `from the work entry: first XREAD back ${p.firstReadMs} ms, the named process's ${p.namedReadMs} ms, ` +
        `taking slot awake ${p.slotWokeMs} ms, its decision answered ${p.decidedMs} ms (${p.takerDecided} of ${p.arrivals} decided; ` +
        `${p.takerHeldModel} held the model, held by some slot for ${p.modelHeld}), fetch answered ${p.fetchedMs} ms (${p.fetchReplyMs} ms after BullMQ's stamp); ` +
        `per arrival ${p.readsPerArrival} XREADs back, ${p.slotsWokenPerArrival} slots woken, ${p.decisionsPerArrival} decisions; ` +
        `simulator event-loop delay p99 ${p.loopDelayP99Ms} ms (median of quarter seconds), max ${p.loopDelayMaxMs} ms`
      : "";
  const schedule = ({ busy: { schedule: s } }: FarmSimulationResult) =>
    s
      ? `import ${s.importMs} ms; slots' first jobs ${s.firstPickupMs}–${s.lastFirstPickupMs} ms after it began; ` +
        `${s.jobsPerSlot[0]}–${s.jobsPerSlot[1]} jobs per slot, ${s.modelLoads} model loads; ` +
        `between a slot's jobs ${s.meanGapMs} ms mean, ${s.maxGapMs} ms max; ` +
        `simulator processes ${s.simHostCpuPercent.join(" / ")} % of a core, machine ${s.machineCpuPercent} % of its ${s.cores} cores`
      : "";
  const makespan = (x: FarmSimulationResult) =>
    `${x.busy.ratio} (${x.busy.makespanS} s / ${x.busy.lowerBoundS} s)`;
  const wholeJobs = ({ busy: b }: FarmSimulationResult) =>
    b.wholeJobsBoundS === undefined
      ? ""
      : `; best schedule of whole jobs on whole slots ${b.wholeJobsBoundS} s (${round3(b.wholeJobsBoundS / b.lowerBoundS)} × the bound), makespan ${b.wholeJobsRatio} × that`;
  return [
    {
      measure: `${size}: idle farm, Redis`,
      value: idleCpu(r) + was(r, idleCpu),
      target: "< 2 % of a core",
      pass: r.idle.redisCpuPercent < 2,
    },
    { measure: `${size}: one arrival into the idle farm`, value: arrival(r) + was(r, arrival) },
    { measure: `${size}: busy farm`, value: busy(r) + was(r, busy) },
    { measure: `${size}: Redis clients`, value: conns(r) + was(r, conns) },
    {
      measure: `${size}: pickup into the idle farm, p50 / p99`,
      value: pickup(r) + pickupLegs(r) + was(r, pickup),
      target: "< 5 / < 50 ms",
      pass: r.arrivals.pickupP50Ms < 5 && r.arrivals.pickupP99Ms < 50,
    },
    { measure: `${size}: pickup, entry → fetched in steps (medians)`, value: pickupSteps(r) },
    {
      measure: `${size}: busy farm, where the time went`,
      value: schedule(r),
    },
    {
      measure: `${size}: makespan / lower bound`,
      value: makespan(r) + wholeJobs(r) + was(r, makespan),
      target: "≤ 1.03",
      pass: r.busy.ratio <= 1.03,
    },
  ];
});

const s = setup(modelCounts[0] ?? 3);
printBenchResult({
  title: "Farm simulator (many slots on one Redis)",
  method: `Private redis-server; ${slots} slots, 8 per worker, the workers spread over ${s.hostProcesses} Node processes on this machine, each slot on a virtual engine (no Python: ${s.steps} steps of ${s.timings.stepMs} ms with progress, ${s.timings.loadMs} ms per model load). Busy: ${s.tasksPerSlot} tasks per slot, mixed over the models, imported at once into the fresh farm; makespan to the last completion, lower bound = (generation + one load per slot) / slots. Idle: ${s.idleSeconds} s with nothing to do. Arrivals: ${s.arrivals} single one-step tasks, one at a time, into the idle farm (import included; idle background subtracted); pickup = job created → handed to the engine. Redis figures are INFO deltas: commands counted by commandstats (commands run inside scripts included), CPU = the server's user + sys time. "before" = the same simulation on the design before issue 15.`,
  rows,
  notes: failures.map((f) => `${f.slots} slots × ${f.models} models could not be simulated: ${f.error}`),
  details: { results, failures, before },
});
