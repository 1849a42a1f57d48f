/**
 * A travel flow of 100 segments joined by one stitch (issue 17), run by the real `wgp-farm worker`
 * processes on the dry-run engine with zero step time and real small videos (WGP_FARM_FAKE_MEDIA=
 * ffmpeg), so that what is measured is the farm's side of a flow: the import of the whole flow, Redis
 * memory per flow, the makespan on 8 slots against its lower bound, the fan-in latency (the last
 * segment's completion → the stitch's start) and the stitch of 100 real clips. A second variant puts
 * a post-step (film grain) on every segment, so the stitch waits on 100 post-steps instead.
 * Each variant on a private redis-server of its own.
 *
 *   node test/bench/flow-bench.ts [--segments 100] [--workers 2] [--slots 4] [--frames 17] [--resolution 160x96]
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import {
  type FarmConnection,
  modelQueueName,
  postStepModelType,
  STITCH_QUEUE,
  stepJobId,
} from "@wgp-farm/queue";
import type { Job } from "bullmq";
import { ChaosFarm } from "../chaos/harness/chaos-farm.ts";
import { FlowChecks } from "../chaos/harness/flow-checks.ts";
import { timedCli } from "../chaos/harness/probes.ts";
import { WorkerFleet } from "../chaos/harness/worker-process.ts";
import { type BenchRow, median, printBenchResult } from "./bench-result.ts";

const { values } = parseArgs({
  options: {
    segments: { type: "string", default: "100" },
    workers: { type: "string", default: "2" },
    slots: { type: "string", default: "4" },
    frames: { type: "string", default: "17" },
    resolution: { type: "string", default: "160x96" },
  },
});
const segments = Number(values.segments);
const workers = Number(values.workers);
const slotsPerWorker = Number(values.slots);
const frames = Number(values.frames);
const resolution = values.resolution;
const slots = workers * slotsPerWorker;
const FLOW_TIMEOUT_MS = 600_000;
const STITCH_ID = "travel";

interface Variant {
  name: string;
  /** A film-grain post-step on every segment, stitched instead of the segment. */
  grain: boolean;
}

const VARIANTS: Variant[] = [
  { name: "segments → stitch", grain: false },
  { name: "segments → film grain each → stitch", grain: true },
];

/** The flow's task file: the segments side by side, then the stitch over their outputs in order. */
function travelFlow(variant: Variant): Record<string, unknown>[] {
  const ids = Array.from({ length: segments }, (_, i) => `seg_${String(i + 1).padStart(3, "0")}`);
  return [
    ...ids.map((id, i) => ({
      task_id: id,
      prompt: `a paper boat drifting through the city, part ${i + 1}`,
      model: "t2v",
      resolution,
      frames,
      steps: 1,
      seed: i,
      // biome-ignore lint/suspicious/noThenProperty: the task file's post-step field
      ...(variant.grain ? { then: [{ film_grain: 0.1 }] } : {}),
    })),
    { task_id: STITCH_ID, stitch: { from: ids, reencode: true } },
  ];
}

/** The jobs whose outputs the stitch joins: the segments, or their film-grain steps. */
function stitchSources(variant: Variant): string[] {
  return Array.from({ length: segments }, (_, i) => {
    const id = `seg_${String(i + 1).padStart(3, "0")}`;
    return variant.grain ? stepJobId(id, 1, "film_grain") : id;
  });
}

const SEGMENT_QUEUE = modelQueueName("t2v");
const GRAIN_QUEUE = modelQueueName(postStepModelType("film_grain"));

async function jobOf(farm: FarmConnection, queue: string, taskId: string): Promise<Job> {
  const job = await farm.queues.byName(queue).getJob(taskId);
  if (!job) throw new Error(`${taskId} is not in ${queue}`);
  return job;
}

/** Waits for the stitch to finish; throws when it failed or the time is up. */
async function stitchFinished(farm: FarmConnection): Promise<Job> {
  const deadline = Date.now() + FLOW_TIMEOUT_MS;
  for (;;) {
    const job = await farm.queues.byName(STITCH_QUEUE).getJob(STITCH_ID);
    const state = job ? await job.getState() : "missing";
    if (job && state === "completed") return job;
    if (state === "failed") throw new Error(`the stitch failed: ${job?.failedReason}`);
    if (Date.now() > deadline) throw new Error(`the flow did not finish in ${FLOW_TIMEOUT_MS / 1000} s`);
    await sleep(100);
  }
}

interface VariantRun {
  variant: string;
  jobs: number;
  /** `wgp-farm import-tasks` of the flow, and the CLI's own start (`--version`). */
  importMs: number;
  cliStartMs: number;
  redisQueuedBytes: number;
  redisCompletedBytes: number;
  makespanMs: number;
  lowerBoundMs: number;
  fanInMs: number;
  stitchMs: number;
  /** Median time a slot job held its slot (fetch → completion). */
  slotJobMedianMs: number;
}

const runOf = (job: Job) => (job.finishedOn ?? 0) - (job.processedOn ?? 0);

async function runVariant(variant: Variant): Promise<VariantRun> {
  const chaos = await ChaosFarm.create("flow-bench", { persistence: "none" });
  let fleet: WorkerFleet | undefined;
  try {
    const tasks = travelFlow(variant);
    const file = path.join(chaos.dir, "tasks-travel.json");
    await writeFile(file, JSON.stringify(tasks));
    const cliStart = await timedCli(chaos, ["--version"]);
    const empty = await chaos.redisMemoryBytes();
    const imported = await timedCli(chaos, ["import-tasks", file, "--json"]);
    const report = JSON.parse(imported.stdout || "{}") as { imported?: unknown[] };
    if (!imported.ok || report.imported?.length !== tasks.length) {
      throw new Error(`import-tasks: ${imported.code}: ${imported.stdout.slice(0, 500)} ${imported.detail}`);
    }
    const queued = await chaos.redisMemoryBytes();
    fleet = new WorkerFleet(
      chaos,
      Array.from({ length: workers }, (_, i) => ({
        name: `flow-${i}`,
        slots: slotsPerWorker,
        engine: "dry-run" as const,
        args: ["--dry-run-duration", "0"],
        env: { WGP_FARM_FAKE_MEDIA: "ffmpeg" },
      })),
    );
    await fleet.start();
    const stitch = await stitchFinished(chaos.farm);
    const completed = await chaos.redisMemoryBytes();
    const sources = stitchSources(variant);
    const segmentIds = tasks.flatMap((task) => (task.stitch ? [] : [String(task.task_id)]));
    const segmentJobs = await Promise.all(segmentIds.map((id) => jobOf(chaos.farm, SEGMENT_QUEUE, id)));
    const sourceJobs = variant.grain
      ? await Promise.all(sources.map((id) => jobOf(chaos.farm, GRAIN_QUEUE, id)))
      : segmentJobs;
    const slotJobs = variant.grain ? [...segmentJobs, ...sourceJobs] : segmentJobs;
    const problems = await new FlowChecks(chaos).stitch(STITCH_ID, STITCH_ID, sources);
    if (problems.length > 0) throw new Error(problems.join("; "));
    const firstStart = Math.min(...slotJobs.map((job) => job.processedOn ?? Number.POSITIVE_INFINITY));
    const slotRuns = slotJobs.map(runOf);
    return {
      variant: variant.name,
      jobs: slotJobs.length + 1,
      importMs: imported.ms,
      cliStartMs: cliStart.ms,
      redisQueuedBytes: queued - empty,
      redisCompletedBytes: completed - empty,
      makespanMs: (stitch.finishedOn ?? 0) - firstStart,
      lowerBoundMs: slotRuns.reduce((sum, ms) => sum + ms, 0) / slots + runOf(stitch),
      fanInMs: (stitch.processedOn ?? 0) - Math.max(...sourceJobs.map((job) => job.finishedOn ?? 0)),
      stitchMs: runOf(stitch),
      slotJobMedianMs: median(slotRuns),
    };
  } finally {
    await fleet?.stop();
    await chaos.close();
  }
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const runs: VariantRun[] = [];
for (const variant of VARIANTS) {
  process.stderr.write(`flow bench: ${variant.name}, ${segments} segments on ${slots} slots\n`);
  runs.push(await runVariant(variant));
}

const rows: BenchRow[] = runs.flatMap((run) => [
  {
    measure: `${run.variant}: import of the flow (\`wgp-farm import-tasks\`, ${run.jobs} jobs)`,
    value: `${Math.round(run.importMs)} ms (of which starting the CLI: ${Math.round(run.cliStartMs)} ms)`,
  },
  {
    measure: `${run.variant}: Redis memory per flow, queued / completed`,
    value: `${kib(run.redisQueuedBytes)} / ${kib(run.redisCompletedBytes)} (${(run.redisQueuedBytes / run.jobs / 1024).toFixed(2)} / ${(run.redisCompletedBytes / run.jobs / 1024).toFixed(2)} KiB per job)`,
  },
  {
    measure: `${run.variant}: makespan on ${slots} slots / lower bound`,
    value: `${seconds(run.makespanMs)} / ${seconds(run.lowerBoundMs)} = ${(run.makespanMs / run.lowerBoundMs).toFixed(2)}`,
  },
  {
    measure: `${run.variant}: fan-in latency (last source completed → stitch started)`,
    value: `${Math.round(run.fanInMs)} ms`,
  },
  {
    measure: `${run.variant}: stitch of ${segments} clips (${resolution}, ${frames} frames each; re-encoded)`,
    value: seconds(run.stitchMs),
  },
  {
    measure: `${run.variant}: a slot job, fetch → completion (median)`,
    value: `${Math.round(run.slotJobMedianMs)} ms`,
  },
]);

printBenchResult({
  title: `A ${segments}-segment travel flow`,
  method: `Private redis-server per variant (no persistence); the flow imported with \`wgp-farm import-tasks\` (a fresh CLI process, its start measured alone with \`--version\`), then ${workers} \`wgp-farm worker\` processes × ${slotsPerWorker} slots with \`--engine dry-run --dry-run-duration 0\` and WGP_FARM_FAKE_MEDIA=ffmpeg: each segment is a real ${resolution} testsrc2 video of ${frames} frames, each film-grain step a real ffmpeg pass, and the stitch joins ${segments} real clips on the worker's CPU (concat filter, re-encoded). ${segments} segments side by side, joined in order by one stitch; the second variant puts a film-grain post-step on every segment and stitches those. Times are BullMQ's job timestamps: makespan = first segment fetched → stitch completed; lower bound = the slot jobs' summed run time / ${slots} slots + the stitch's run time; fan-in = the last of the stitch's sources completed → the stitch fetched by a stitch runner. Redis memory is used_memory over the empty farm, after the import and after the flow completed. The stitched video's frame count is checked with ffprobe (the sum of its sources').`,
  rows,
  notes: [
    'Segments run side by side: a chain (each segment continuing the one before with `{"from"}`) runs one at a time whatever the slots, so only a fan-in measures the farm\'s parallel side.',
  ],
  details: { segments, workers, slotsPerWorker, frames, resolution, runs },
});
