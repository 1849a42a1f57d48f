/**
 * SIGTERM to a worker whose slots are all running jobs. Two cases, alternating:
 * - the drain timeout is longer than the jobs: they finish on that worker (completed, first attempt),
 *   it takes no new job, and exits 0;
 * - the drain timeout is shorter: the running jobs go back to their queue (not failed, no attempt
 *   counted against them), the worker exits 0, and another worker completes them.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { findTask } from "@wgp-farm/queue";
import { ChaosFarm, keepFiles } from "../harness/chaos-farm.ts";
import { type RunningJob, runningJobs, until, waitForAllFinished } from "../harness/farm-watch.ts";
import { type Scale, type ScenarioResult, startClock } from "../harness/scenario-result.ts";
import {
  checkTheEnd,
  damageOf,
  type EndCheck,
  recordFailure,
  stopWorker,
} from "../harness/scenario-steps.ts";
import type { TaskExpectation } from "../harness/task-accounting.ts";
import { WorkerProcess } from "../harness/worker-process.ts";

const TRIALS: Record<Scale, number> = { short: 2, full: 8 };
const MODELS = ["t2v"];
const SLOTS = 2;
const TASKS_PER_TRIAL = 5;
const STEPS = 20;
const STEP_S = 0.1;

const RETRY = { attempts: 3, backoffMs: 500 };
const ENV = { FAKE_WANGP_STEP_S: String(STEP_S) };

/** What the trials add up to. */
interface Tally {
  drainMs: number[];
  recoverMs: number[];
  drained: number;
  returned: number;
  failedAttempts: number;
  total: number;
}

export async function sigtermDrainScenario(scale: Scale): Promise<ScenarioResult> {
  const elapsed = startClock();
  const chaos = await ChaosFarm.create("sigterm");
  const violations: string[] = [];
  const expectations: TaskExpectation[] = [];
  const tally: Tally = { drainMs: [], recoverMs: [], drained: 0, returned: 0, failedAttempts: 0, total: 0 };
  for (let trial = 0; trial < TRIALS[scale]; trial++) {
    const ids = await importTrialTasks(chaos, trial, expectations);
    tally.total += ids.length;
    const drain = await drainBusyWorker(chaos, trial, tally, violations);
    await finishElsewhere(chaos, trial, tally.total, violations);
    await checkRunningJobs(chaos, trial, drain, tally, violations);
    await checkNoJobTakenAfterSignal(chaos, trial, ids, drain, violations);
    await sleep(200);
  }
  const end = await checkTheEnd(chaos, expectations, violations);
  await chaos.close(keepFiles(violations));
  return report(scale, tally, end, violations, elapsed);
}

/** Even trials finish their running jobs in place, odd ones return them to their queue. */
function finishesInPlace(trial: number): boolean {
  return trial % 2 === 0;
}

async function importTrialTasks(
  chaos: ChaosFarm,
  trial: number,
  expectations: TaskExpectation[],
): Promise<string[]> {
  const ids = Array.from({ length: TASKS_PER_TRIAL }, (_, i) => `drain-${trial}-${i}`);
  for (const id of ids) expectations.push({ taskId: id, outputSubDir: id, outcome: "completed" });
  await chaos.import(
    ids.map((id, i) => ({
      task_id: id,
      prompt: `a slow pan over hills, ${id}`,
      model: "t2v",
      steps: STEPS,
      seed: i,
    })),
    RETRY,
  );
  return ids;
}

/** The drained worker: its name, the jobs it ran when signalled, and when. */
interface Drain {
  name: string;
  running: RunningJob[];
  signalledAt: number;
}

/** Starts a worker, waits until both its slots are past step 2, sends SIGTERM and waits for its exit. */
async function drainBusyWorker(
  chaos: ChaosFarm,
  trial: number,
  tally: Tally,
  violations: string[],
): Promise<Drain> {
  const name = `term-${trial}`;
  const worker = WorkerProcess.spawn(chaos, {
    name,
    slots: SLOTS,
    engine: "wangp",
    env: ENV,
    // Long enough for a 2 s job, or much shorter than one.
    args: ["--drain-timeout", finishesInPlace(trial) ? "60" : "0.5"],
  });
  await worker.ready;
  const running = await until(
    async () => {
      const jobs = (await runningJobs(chaos, MODELS)).filter((job) => job.slotId.endsWith(`@${name}`));
      return jobs.length === SLOTS && jobs.every((job) => job.step >= 2) ? jobs : undefined;
    },
    30_000,
    `both slots of ${name} to be running`,
  );
  const signalledAt = Date.now();
  worker.kill("SIGTERM");
  const exit = await worker.exited;
  tally.drainMs.push(Date.now() - signalledAt);
  if (exit.code !== 0)
    violations.push(`trial ${trial}: the worker exited with ${JSON.stringify(exit)} after SIGTERM`);
  return { name, running, signalledAt };
}

/** A worker that finishes the trial's jobs elsewhere: the rest of its tasks, and any returned job. */
async function finishElsewhere(
  chaos: ChaosFarm,
  trial: number,
  total: number,
  violations: string[],
): Promise<void> {
  const rescuer = WorkerProcess.spawn(chaos, {
    name: `rescue-${trial}`,
    slots: SLOTS,
    engine: "wangp",
    env: ENV,
  });
  await rescuer.ready;
  await recordFailure(waitForAllFinished(chaos, MODELS, total, 120_000), violations, `trial ${trial}`);
  await stopWorker(rescuer);
}

/** The jobs running at the signal: finished in place (first attempt) or returned and finished elsewhere. */
async function checkRunningJobs(
  chaos: ChaosFarm,
  trial: number,
  { name, running, signalledAt }: Drain,
  tally: Tally,
  violations: string[],
): Promise<void> {
  for (const job of running) {
    const details = await findTask(chaos.farm, job.taskId, { logLines: 0 });
    if (!details) continue;
    tally.failedAttempts += details.errors.length;
    if (details.errors.length > 0) {
      violations.push(
        `trial ${trial}: ${job.taskId} has failed attempts: ${details.errors.map((e) => e.message).join("; ")}`,
      );
    }
    const finishedOn = details.finished_at ? Date.parse(details.finished_at) : 0;
    if (finishesInPlace(trial)) {
      tally.drained += 1;
      if (details.worker !== job.slotId || details.attempts.started !== 1) {
        violations.push(
          `trial ${trial}: ${job.taskId} was to finish on ${job.slotId}; finished on ${details.worker} after ${details.attempts.started} attempt(s)`,
        );
      }
    } else {
      tally.returned += 1;
      if (!details.worker?.startsWith("gpu") || details.worker.endsWith(`@${name}`)) {
        violations.push(
          `trial ${trial}: ${job.taskId} was to be returned and finished elsewhere; finished on ${details.worker}`,
        );
      }
      if (details.started_at) tally.recoverMs.push(Date.parse(details.started_at) - signalledAt);
    }
    if (finishedOn === 0) violations.push(`trial ${trial}: ${job.taskId} did not finish`);
  }
}

/** After the signal, the draining worker took no new job. */
async function checkNoJobTakenAfterSignal(
  chaos: ChaosFarm,
  trial: number,
  ids: readonly string[],
  { name, running, signalledAt }: Drain,
  violations: string[],
): Promise<void> {
  for (const id of ids) {
    const details = await findTask(chaos.farm, id, { logLines: 0 });
    const started = details?.started_at ? Date.parse(details.started_at) : 0;
    if (
      details?.worker?.endsWith(`@${name}`) &&
      started > signalledAt &&
      !running.some((j) => j.taskId === id)
    ) {
      violations.push(`trial ${trial}: the draining worker started ${id} after SIGTERM`);
    }
  }
}

function report(
  scale: Scale,
  tally: Tally,
  end: EndCheck,
  violations: string[],
  elapsed: () => number,
): ScenarioResult {
  const drainList = tally.drainMs.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(", ");
  return {
    id: "sigterm-drain",
    title: "SIGTERM to a worker with jobs running",
    trials: TRIALS[scale],
    tasks: tally.total,
    faults: TRIALS[scale],
    ...damageOf(end),
    recoverMs: tally.recoverMs,
    recoveryMeaning: "short drain timeout: from SIGTERM until a returned job ran again on another worker",
    violations,
    figures: [
      ["running jobs finished in place (drain timeout 60 s)", String(tally.drained)],
      [
        "running jobs returned to their queue (drain timeout 0.5 s), then finished elsewhere",
        String(tally.returned),
      ],
      ["failed attempts recorded on those jobs", String(tally.failedAttempts)],
      ["SIGTERM → worker exit", drainList],
    ],
    method: [
      `Per trial: ${TASKS_PER_TRIAL} tasks of ${STEPS} steps × ${STEP_S} s; a \`wgp-farm worker\` with ${SLOTS} slots gets SIGTERM once both slots are past step 2.`,
      "Even trials: --drain-timeout 60 (the jobs finish in place). Odd trials: --drain-timeout 0.5 (the jobs go back to their queue). A second worker then finishes what is left.",
    ],
    durationS: elapsed(),
  };
}
