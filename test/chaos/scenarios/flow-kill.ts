/**
 * Random SIGKILL of worker processes and engine-py processes while flows run (issue 17): chained
 * segments joined by a stitch that is then interpolated, segments side by side each with a post-step
 * and joined by a stitch, a take upscaled then interpolated; on 2–3 workers running the WanGP double
 * with real videos (WGP_FARM_FAKE_MEDIA=ffmpeg). Besides kills at random moments, each stitch and
 * post-step attempt seen running may be aimed at (a stitch runs in its worker process, so its worker
 * is killed; a post-step's worker or engine). Killed workers come back after a second, as systemd would.
 * End check: every job of every flow completed (or failed with the reason of the segment told to
 * fail), one result per folder from the attempt Redis completed the job with, each stitch made of its
 * sources' completed outputs in order (frames counted with ffprobe), each post-step made from its
 * source's completed output, and nothing left in any queue but completed or failed.
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { findTask } from "@wgp-farm/queue";
import { ChaosFarm, keepFiles } from "../harness/chaos-farm.ts";
import {
  collectRecoveries,
  type RunningJob,
  runningJobsIn,
  waitForFinishedIn,
} from "../harness/farm-watch.ts";
import { FlowChecks, unfinishedJobs } from "../harness/flow-checks.ts";
import {
  checkNoOrphanEngines,
  KillAttack,
  pickTarget,
  targetOfJob,
  unseenHits,
} from "../harness/kill-attack.ts";
import { type Random, seededRandom } from "../harness/random.ts";
import { formatMs, median, type Scale, type ScenarioResult, startClock } from "../harness/scenario-result.ts";
import {
  checkTheEnd,
  damageOf,
  type EndCheck,
  endStates,
  importAll,
  recordFailure,
} from "../harness/scenario-steps.ts";
import type { TaskExpectation } from "../harness/task-accounting.ts";
import { WorkerFleet, type WorkerSpec } from "../harness/worker-process.ts";
import { type FlowJobKind, type FlowPlan, planFlows, TOLD_TO_FAIL } from "./flow-kill-plan.ts";

const SIZES = {
  short: {
    flows: 2,
    chain: 2,
    fan: 2,
    steps: 4,
    stepS: 0.05,
    workers: 2,
    kills: 4,
    aimed: 4,
    lockMs: 3_000,
    stalledMs: 1_000,
    // Below the test's 300 s, so that a slow run still reports what it saw.
    timeoutMs: 270_000,
  },
  full: {
    flows: 9,
    chain: 4,
    fan: 5,
    steps: 6,
    stepS: 0.1,
    workers: 3,
    kills: 50,
    aimed: 40,
    lockMs: 8_000,
    stalledMs: 3_000,
    timeoutMs: 1_800_000,
  },
} as const;

type Size = (typeof SIZES)[Scale];

/** Stalls + engine crashes after which the worker quarantines a job (the worker's default). */
const QUARANTINE_AFTER = 3;
/** Kills aimed at one job stay below the quarantine threshold: a job not told to break must complete. */
const HITS_PER_JOB = QUARANTINE_AFTER - 1;
/** The chance that a stitch or post-step attempt seen running is aimed at. */
const AIM_AT_STEP = 0.5;

export async function flowKillScenario(scale: Scale): Promise<ScenarioResult> {
  const size = SIZES[scale];
  const elapsed = startClock();
  const random = seededRandom();
  const chaos = await ChaosFarm.create("flow-kill");
  const violations: string[] = [];
  const plan = planFlows(size);
  await importAll(chaos, plan.tasks, { attempts: 3, backoffMs: 500 }, violations);
  const fleet = new WorkerFleet(chaos, workerSpecs(size));
  await fleet.start();
  const { attack, aimed } = await killWhileFlowsRun(chaos, fleet, plan, size, random, violations);
  const recovery = await recoveriesByKind(attack, plan, violations);
  await fleet.stop();
  await checkNoOrphanEngines(chaos, fleet, violations);
  const end = await checkTheEnd(chaos, expectationsOf(plan), violations);
  const recreated = await acceptRecreatedStaging(chaos, end, violations);
  const slotJobs = plan.jobs.filter((job) => job.kind !== "stitch" && !job.failure).map((job) => job.id);
  const unseen = await unseenHits(chaos, slotJobs, attack.log, violations);
  const flows = await checkFlows(chaos, plan, violations);
  await chaos.close(keepFiles(violations));
  return report({
    size,
    plan,
    attack,
    aimed,
    recovery,
    end,
    unseen,
    flows,
    recreated,
    fleet,
    seed: random.seed,
    violations,
    elapsed,
  });
}

/**
 * Staging folders left without their owner file were re-created by an engine-py process that
 * outlived its SIGKILLed worker (it finishes its job for up to its shutdown grace, and WanGP creates
 * its output folder when it saves) after the attempt that took the job over had cleaned them up: the
 * worker's sweep removes such folders after an hour (see the notes). They are counted, not a
 * violation; a staging folder with its owner file left is one.
 */
async function acceptRecreatedStaging(
  chaos: ChaosFarm,
  end: EndCheck,
  violations: string[],
): Promise<string[]> {
  const left = end.accounting.stagingLeft;
  const staging = path.join(chaos.outputDir, ".wgp-farm-staging");
  const ownerless: string[] = [];
  for (const name of left) {
    if (!(await stat(path.join(staging, name, "owner.json")).catch(() => undefined))) ownerless.push(name);
  }
  if (left.length > 0 && ownerless.length === left.length) {
    const line = `staging folders left: ${left.join(", ")}`;
    const at = violations.indexOf(line);
    if (at >= 0) violations.splice(at, 1);
  }
  return ownerless;
}

function workerSpecs(size: Size): WorkerSpec[] {
  return ["host-a", "host-b", "host-c"].slice(0, size.workers).map((name) => ({
    name,
    slots: 2,
    engine: "wangp" as const,
    env: {
      FAKE_WANGP_STEP_S: String(size.stepS),
      FAKE_WANGP_LOAD_S: "0.1",
      WGP_FARM_FAKE_MEDIA: "ffmpeg",
    },
    args: ["--lock-duration-ms", String(size.lockMs), "--stalled-interval-ms", String(size.stalledMs)],
  }));
}

function queuesOf(plan: FlowPlan): string[] {
  return [...new Set(plan.jobs.map((job) => job.queue))];
}

function kindOfQueue(plan: FlowPlan, queue: string): FlowJobKind {
  return plan.jobs.find((job) => job.queue === queue)?.kind ?? "segment";
}

/** The kills, and how many were aimed at a stitch or post-step attempt. */
interface FlowAttack {
  attack: KillAttack;
  aimed: number;
}

/**
 * The fault loop, until both kinds of kill are spent or every job has finished: every 50–250 ms a
 * look at the running jobs, and a stitch or post-step attempt seen for the first time is aimed at
 * (its holder killed) with a chance of one half; besides, every 0.3–1.2 s a kill of a random worker
 * or engine. No job is hit more than twice. Then waits for the rest to finish.
 */
async function killWhileFlowsRun(
  chaos: ChaosFarm,
  fleet: WorkerFleet,
  plan: FlowPlan,
  size: Size,
  random: Random,
  violations: string[],
): Promise<FlowAttack> {
  const queues = queuesOf(plan);
  const running = () => runningJobsIn(chaos, queues);
  const attack = new KillAttack(chaos, HITS_PER_JOB, running);
  let aimed = 0;
  let atRandom = 0;
  const allDone = waitForFinishedIn(chaos, queues, plan.jobs.length, size.timeoutMs);
  let finished = false;
  const markFinished = () => {
    finished = true;
  };
  void allDone.then(markFinished, markFinished);

  const looked = new Set<string>();
  let nextRandomKill = Date.now() + random.between(300, 1200);
  while ((aimed < size.aimed || atRandom < size.kills) && !finished) {
    await sleep(random.between(50, 250));
    const fresh = (await running().catch((): RunningJob[] => [])).filter((job) => {
      const attempt = `${job.taskId}#${job.attemptsStarted}`;
      if (kindOfQueue(plan, job.queue) === "segment" || looked.has(attempt)) return false;
      looked.add(attempt);
      return true;
    });
    const aimedAt = aimed < size.aimed ? fresh.find(() => random.chance(AIM_AT_STEP)) : undefined;
    if (aimedAt) {
      const target = await targetOfJob(fleet, aimedAt.slotId, random);
      if (target && (await attack.strike(target))) aimed += 1;
    } else if (atRandom < size.kills && Date.now() >= nextRandomKill) {
      nextRandomKill = Date.now() + random.between(300, 1200);
      const target = await pickTarget(fleet, random);
      if (target && (await attack.strike(target))) atRandom += 1;
    }
  }
  await recordFailure(allDone, violations);
  return { attack, aimed };
}

type ByKind<T> = Record<FlowJobKind, T>;

/** Per kind of job hit: until it was back in its queue, and until it ran again. */
async function recoveriesByKind(
  attack: KillAttack,
  plan: FlowPlan,
  violations: string[],
): Promise<ByKind<{ recoverMs: number[]; rerunMs: number[] }>> {
  const of = (kind: FlowJobKind) =>
    collectRecoveries(
      attack.hits.filter((hit) => kindOfQueue(plan, hit.job.queue) === kind).map((hit) => hit.recovery),
      violations,
      `killed ${kind}`,
    );
  const [segment, step, stitch] = await Promise.all([of("segment"), of("step"), of("stitch")]);
  return { segment, step, stitch };
}

function expectationsOf(plan: FlowPlan): TaskExpectation[] {
  return plan.jobs.map((job) => ({
    taskId: job.id,
    outputSubDir: job.outputSubDir,
    // A slot's job may end quarantined only when its history shows three kills (see unseenHits).
    outcome: job.failure ? "failed" : job.kind === "stitch" ? "completed" : ["completed", "quarantined"],
    reason: job.failure ?? /^quarantined: /,
  }));
}

interface FlowVerdict {
  /** Completed jobs whose result.json is from the attempt Redis completed them with. */
  recorded: number;
  stitchesChecked: number;
  stepsChecked: number;
  continuationsChecked: number;
  /** Stitches that ran more than once (a kill caught them), of those completed. */
  stitchesRerun: number;
  /** Post-steps that ran more than once. */
  stepsRerun: number;
  stitchesCompleted: number;
  stepsCompleted: number;
  /** Jobs failed because a segment told to fail did, whose reason leads to that segment's error. */
  dependantsChecked: number;
}

/**
 * The flow checks of every completed job (the attempt its result names, its sources, its shape),
 * and that no job of any flow is left anywhere but completed or failed (no parent waits for ever).
 */
async function checkFlows(chaos: ChaosFarm, plan: FlowPlan, violations: string[]): Promise<FlowVerdict> {
  const checks = new FlowChecks(chaos);
  const verdict: FlowVerdict = {
    recorded: 0,
    stitchesChecked: 0,
    stepsChecked: 0,
    continuationsChecked: 0,
    stitchesRerun: 0,
    stepsRerun: 0,
    stitchesCompleted: 0,
    stepsCompleted: 0,
    dependantsChecked: 0,
  };
  for (const job of plan.jobs) {
    if (job.cause) {
      const found = await checks.dependencyFailure(job.id, job.cause, TOLD_TO_FAIL);
      if (found.length === 0) verdict.dependantsChecked += 1;
      violations.push(...found);
    }
    if (!(await checks.completed(job.id))) continue;
    const problems: string[] = [];
    const attempt = await checks.recordedAttempt(job.id, job.outputSubDir);
    if (attempt) problems.push(attempt);
    else verdict.recorded += 1;
    const started = (await findTask(chaos.farm, job.id, { logLines: 0 }))?.attempts.started ?? 0;
    if (job.sources) {
      verdict.stitchesCompleted += 1;
      if (started > 1) verdict.stitchesRerun += 1;
      const found = await checks.stitch(job.id, job.outputSubDir, job.sources);
      if (found.length === 0) verdict.stitchesChecked += 1;
      problems.push(...found);
    }
    if (job.step) {
      verdict.stepsCompleted += 1;
      if (started > 1) verdict.stepsRerun += 1;
      const found = await checks.step(job.id, job.outputSubDir, job.step.source, job.step.kind);
      if (found.length === 0) verdict.stepsChecked += 1;
      problems.push(...found);
    }
    if (job.continues) {
      const found = await checks.continuation(job.id, job.outputSubDir, job.continues);
      if (found.length === 0) verdict.continuationsChecked += 1;
      problems.push(...found);
    }
    violations.push(...problems);
  }
  const left = await unfinishedJobs(chaos, queuesOf(plan));
  if (left.length > 0) violations.push(`jobs left unfinished: ${left.join("; ")}`);
  return verdict;
}

interface Outcome {
  size: Size;
  plan: FlowPlan;
  attack: KillAttack;
  aimed: number;
  recovery: ByKind<{ recoverMs: number[]; rerunMs: number[] }>;
  end: EndCheck;
  unseen: string[];
  flows: FlowVerdict;
  recreated: string[];
  fleet: WorkerFleet;
  seed: number;
  violations: string[];
  elapsed: () => number;
}

function medianMax(values: readonly number[]): string {
  return `${formatMs(median(values))} / ${formatMs(values.length > 0 ? Math.max(...values) : undefined)}`;
}

function report({
  size,
  plan,
  attack,
  aimed,
  recovery,
  end,
  unseen,
  flows,
  recreated,
  fleet,
  seed,
  violations,
  elapsed,
}: Outcome): ScenarioResult {
  const { kills } = attack;
  const count = (kind: FlowJobKind) => plan.jobs.filter((job) => job.kind === kind).length;
  const hitsOn = (kind: FlowJobKind) =>
    attack.hits.filter((hit) => kindOfQueue(plan, hit.job.queue) === kind).length;
  const failing = plan.jobs.filter((job) => job.failure).length;
  return {
    id: "flow-kill",
    title: "Random SIGKILL of workers and engines while flows run (segments, post-steps, stitches)",
    trials: attack.total,
    tasks: plan.jobs.length,
    faults: attack.total + plan.toldToFail,
    ...damageOf(end),
    recoverMs: [...recovery.segment.recoverMs, ...recovery.step.recoverMs, ...recovery.stitch.recoverMs],
    recoveryMeaning: "from the kill until the killed job was back in its queue (or running again)",
    violations,
    figures: [
      [
        "jobs: segments / post-steps / stitches",
        `${count("segment")} / ${count("step")} / ${count("stitch")} in ${plan.flows} flows`,
      ],
      ["kills of worker processes / engine-py processes", `${kills.worker} / ${kills.engine}`],
      [
        "jobs hit: segments / post-steps / stitches (kills that hit no job)",
        `${hitsOn("segment")} / ${hitsOn("step")} / ${hitsOn("stitch")} (${kills.idle})`,
      ],
      ["kills aimed at a running stitch or post-step attempt", String(aimed)],
      [
        "stitches / post-steps that ran again after a kill, of those completed",
        `${flows.stitchesRerun} of ${flows.stitchesCompleted} / ${flows.stepsRerun} of ${flows.stepsCompleted}`,
      ],
      ["killed segment ran again after (median / max)", medianMax(recovery.segment.rerunMs)],
      ["killed post-step ran again after (median / max)", medianMax(recovery.step.rerunMs)],
      ["killed stitch ran again after (median / max)", medianMax(recovery.stitch.rerunMs)],
      [
        "segments told to fail / jobs failed with them (their steps, later segments, stitches) / whose reason leads to the segment's error",
        `${plan.toldToFail} / ${failing - plan.toldToFail} / ${flows.dependantsChecked}`,
      ],
      ["end states", endStates(end.accounting.states)],
      [
        "results from the attempt Redis completed the job with",
        `${flows.recorded} of ${end.accounting.states.completed ?? 0}`,
      ],
      [
        "stitches made of their sources' completed outputs in order, frames adding up (ffprobe)",
        `${flows.stitchesChecked} of ${flows.stitchesCompleted}`,
      ],
      [
        "post-steps made from their source's completed output, with its shape",
        `${flows.stepsChecked} of ${flows.stepsCompleted}`,
      ],
      ["continuing segments given the output of the one before", String(flows.continuationsChecked)],
      [
        "staging folders re-created without an owner file by an engine that outlived its killed worker",
        String(recreated.length),
      ],
      ["worker restarts (by the harness, like systemd)", String(fleet.restarts)],
      ["kills skipped (every job they would hit had been hit twice already)", String(kills.skipped)],
      [
        "slot jobs quarantined by a third kill the harness did not see",
        unseen.length > 0 ? `${unseen.length} (${unseen.join(", ")})` : "0",
      ],
      ["seed (CHAOS_SEED to replay)", String(seed)],
    ],
    method: [
      `${plan.flows} flows, each: a chain of ${size.chain} segments (each continuing the one before with \`{"from"}\`) → a re-encoding stitch → interpolate; ${size.fan} segments side by side, each → film grain, → a stream-copy stitch over the grained outputs; a take → upscale → interpolate. Every 3rd flow from the 2nd has a fan-in segment told to fail in WanGP (\`[fake:error]\`), every 3rd from the 3rd a chain segment.`,
      `${size.workers} \`wgp-farm worker\` processes × 2 slots and a stitch runner each, engine-py with the WanGP double (${size.steps} steps × ${size.stepS} s, real 64×48 videos made with ffmpeg: WGP_FARM_FAKE_MEDIA=ffmpeg); lock ${size.lockMs / 1000} s, stalled check ${size.stalledMs / 1000} s; 3 attempts, 0.5 s backoff.`,
      `Every 50–250 ms the harness looks at the running jobs: each stitch or post-step attempt seen for the first time is aimed at with a chance of one half, up to ${size.aimed} kills (a stitch's worker process; a post-step's worker or engine, even odds); besides, every 0.3–1.2 s a SIGKILL to a random worker or engine, up to ${size.kills}. No job is hit more than twice. A killed worker is restarted after 1 s.`,
      "End check: each job completed, or failed with the reason of the segment told to fail (a later segment, step or stitch: `<job> failed: …`); one result.json per job folder, naming the attempt and slot Redis completed the job with and the attempt that held the publish claim; each stitch names its sources in order, each with the file its job completed with, and its frame count (ffprobe) is their sum; each post-step names its source's completed file and has the shape its kind gives; nothing in any queue active, waiting or waiting for children; no staging left.",
    ],
    durationS: elapsed(),
  };
}
