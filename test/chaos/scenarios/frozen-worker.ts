/**
 * A worker frozen mid-job (SIGSTOP of its Node process; its engine goes on and finishes the job) for
 * longer than lock + stalled interval, so that another host takes the job over. It is thawed after
 * that other attempt completed the task, or while it still runs. The stale attempt must publish
 * nothing: one result folder per task, naming the attempt Redis completed, no staging left, the job
 * completed once and never failed by the stale attempt.
 */
import { findTask } from "@wgp-farm/queue";
import { ChaosFarm, keepFiles } from "../harness/chaos-farm.ts";
import { followRecovery, type RunningJob, runningJobs, until } from "../harness/farm-watch.ts";
import {
  checkFencedTask,
  type FencedTask,
  staleAttemptNoticed,
  wastedGpuSeconds,
} from "../harness/fencing-checks.ts";
import { freezeWorker, thawWorker } from "../harness/freeze.ts";
import { formatMs, median, type Scale, type ScenarioResult, startClock } from "../harness/scenario-result.ts";
import { checkTheEnd, damageOf, endStates, importAll, recordFailure } from "../harness/scenario-steps.ts";
import type { TaskExpectation } from "../harness/task-accounting.ts";
import { WorkerFleet, type WorkerProcess } from "../harness/worker-process.ts";

const SIZES = {
  short: { trials: 2 },
  full: { trials: 16 },
} as const;

const MODEL = "t2v";
const LOCK_MS = 2_000;
const STALLED_MS = 1_000;
/**
 * 40 steps × 0.1 s: the frozen host's engine finishes while its worker is stopped, after the other
 * host has taken the job over (and cleared the stale attempt's staging folder, which the engine then
 * fills again): the frozen attempt wakes up with a complete result in hand.
 */
const STEPS = 40;
const STEP_S = 0.1;

/** When the frozen worker is let go: once the other attempt completed the task, or while it runs. */
type Thaw = "after-completion" | "during-rerun";

interface Trial {
  task: FencedTask;
  thaw: Thaw;
  /** From the freeze until the job ran again elsewhere. */
  rerunMs: number | undefined;
}

export async function frozenWorkerScenario(scale: Scale): Promise<ScenarioResult> {
  const size = SIZES[scale];
  const elapsed = startClock();
  const chaos = await ChaosFarm.create("frozen-worker");
  const violations: string[] = [];
  const fleet = await startHosts(chaos);
  const trials: Trial[] = [];
  let overwritten = 0;
  for (let i = 0; i < size.trials; i++) {
    const thaw: Thaw = i % 2 === 0 ? "after-completion" : "during-rerun";
    const trial = await recordFailure(
      freezeDuringJob(chaos, fleet, `frozen-${i}`, thaw, violations),
      violations,
      `trial ${i}`,
    );
    if (!trial) continue;
    trials.push(trial);
    const verdict = await checkFencedTask(chaos, trial.task);
    if (verdict.overwritten) overwritten += 1;
    violations.push(...verdict.problems);
  }
  await fleet.stop();
  const expectations = trials.map(({ task }): TaskExpectation => ({ ...task, outcome: "completed" }));
  const end = await checkTheEnd(chaos, expectations, violations);
  const wasted = await wastedGpuSeconds(chaos);
  if (wasted.lostAttempts !== trials.length) {
    violations.push(`${wasted.lostAttempts} lost attempts counted for ${trials.length} frozen attempts`);
  }
  await chaos.close(keepFiles(violations));
  const rerunMs = trials.map((t) => t.rerunMs).filter((ms): ms is number => ms !== undefined);
  return {
    id: "frozen-worker",
    title: "A worker frozen mid-job (SIGSTOP) while its engine runs on",
    trials: size.trials,
    tasks: size.trials,
    faults: trials.length,
    ...damageOf(end),
    overwritten,
    wastedGpuS: wasted.seconds,
    recoverMs: rerunMs,
    recoveryMeaning: "from the freeze until another host ran the job again",
    violations,
    figures: [
      ["thawed after the other attempt completed / while it ran", countThaws(trials)],
      ["lost attempts counted by the farm", String(wasted.lostAttempts)],
      ["wasted GPU time (the frozen hosts' engines)", `${wasted.seconds.toFixed(1)} s`],
      ["job ran again after the freeze (median)", formatMs(median(rerunMs))],
      ["end states", endStates(end.accounting.states)],
    ],
    method: [
      `${size.trials} tasks, one at a time, on 2 \`wgp-farm worker\` processes × 1 slot, engine-py with the WanGP double (${STEPS} steps × ${STEP_S} s).`,
      `Lock ${LOCK_MS} ms, stalled check every ${STALLED_MS} ms. At step 2 the worker running the task is frozen (SIGSTOP of its Node process; its engine is not signalled and finishes the job).`,
      "The other host takes the job over once the lock has expired. The frozen worker is thawed (SIGCONT) after that attempt completed the task (even trials) or as soon as it started (odd trials).",
      "Checked per task: result.json's attempt and slot are those Redis completed the job with (and its publish claim), the job made one finishing move and has no error, the frozen attempt recorded itself lost; then the usual end check (one result per folder, no staging left).",
    ],
    durationS: elapsed(),
  };
}

async function startHosts(chaos: ChaosFarm): Promise<WorkerFleet> {
  const fleet = new WorkerFleet(
    chaos,
    ["host-a", "host-b"].map((name) => ({
      name,
      slots: 1,
      engine: "wangp" as const,
      env: { FAKE_WANGP_STEP_S: String(STEP_S), FAKE_WANGP_LOAD_S: "0.2" },
      args: ["--lock-duration-ms", String(LOCK_MS), "--stalled-interval-ms", String(STALLED_MS)],
    })),
  );
  await fleet.start();
  return fleet;
}

/** One trial: a task, its worker frozen at step 2, taken over elsewhere, the worker thawed. */
async function freezeDuringJob(
  chaos: ChaosFarm,
  fleet: WorkerFleet,
  taskId: string,
  thaw: Thaw,
  violations: string[],
): Promise<Trial> {
  const outputSubDir = `runs/${taskId}`;
  const task = {
    task_id: taskId,
    prompt: `a frozen lake (${taskId})`,
    model: MODEL,
    steps: STEPS,
    seed: 7,
    output_sub_dir: outputSubDir,
  };
  const imported: string[] = [];
  await importAll(chaos, [task], { attempts: 3, backoffMs: 200 }, imported);
  if (imported.length > 0) throw new Error(imported.join("; "));
  const running = await until(
    async () => (await runningJobs(chaos, [MODEL])).find((job) => job.taskId === taskId && job.step >= 2),
    30_000,
    `${taskId} at step 2`,
    50,
  );
  const victim = workerOf(fleet, running);
  const frozenAt = Date.now();
  await freezeWorker(victim);
  const fenced: FencedTask = { taskId, model: MODEL, outputSubDir, staleSlot: running.slotId };
  let rerunMs: number | undefined;
  try {
    rerunMs = (await followRecovery(chaos, running, frozenAt, 30_000)).rerunMs;
    if (thaw === "after-completion") await untilCompleted(chaos, taskId);
  } finally {
    await thawWorker(victim);
  }
  // Not noticing is a violation, yet the folder is checked all the same.
  await recordFailure(staleAttemptNoticed(chaos, fenced, 20_000), violations);
  await untilCompleted(chaos, taskId);
  return { task: fenced, thaw, rerunMs };
}

function workerOf(fleet: WorkerFleet, job: RunningJob): WorkerProcess {
  const worker = fleet.workers().find((candidate) => candidate.slotIds().includes(job.slotId));
  if (!worker) throw new Error(`no live worker runs ${job.slotId}`);
  return worker;
}

async function untilCompleted(chaos: ChaosFarm, taskId: string): Promise<void> {
  await until(
    async () =>
      (await findTask(chaos.farm, taskId, { logLines: 0 }))?.state === "completed" ? true : undefined,
    30_000,
    `${taskId} to complete`,
    100,
  );
}

function countThaws(trials: readonly Trial[]): string {
  const after = trials.filter((t) => t.thaw === "after-completion").length;
  return `${after} / ${trials.length - after}`;
}
