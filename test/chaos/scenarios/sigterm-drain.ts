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
import { runningJobs, until, waitForAllFinished } from "../harness/farm-watch.ts";
import { type Scale, type ScenarioResult, startClock } from "../harness/scenario-result.ts";
import { accountForTasks, escapedWrites, type TaskExpectation } from "../harness/task-accounting.ts";
import { WorkerProcess } from "../harness/worker-process.ts";

const TRIALS: Record<Scale, number> = { short: 2, full: 8 };
const MODELS = ["t2v"];
const SLOTS = 2;
const TASKS_PER_TRIAL = 5;
const STEPS = 20;
const STEP_S = 0.1;

export async function sigtermDrainScenario(scale: Scale): Promise<ScenarioResult> {
  const elapsed = startClock();
  const chaos = await ChaosFarm.create("sigterm");
  const violations: string[] = [];
  const expectations: TaskExpectation[] = [];
  const drainMs: number[] = [];
  const recoverMs: number[] = [];
  const env = { FAKE_WANGP_STEP_S: String(STEP_S) };
  let drained = 0;
  let returned = 0;
  let failedAttempts = 0;
  let total = 0;

  for (let trial = 0; trial < TRIALS[scale]; trial++) {
    const finishInPlace = trial % 2 === 0;
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
      { attempts: 3, backoffMs: 500 },
    );
    total += ids.length;
    const name = `term-${trial}`;
    const worker = WorkerProcess.spawn(chaos, {
      name,
      slots: SLOTS,
      engine: "wangp",
      env,
      // Long enough for a 2 s job, or much shorter than one.
      args: ["--drain-timeout", finishInPlace ? "60" : "0.5"],
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
    drainMs.push(Date.now() - signalledAt);
    if (exit.code !== 0)
      violations.push(`trial ${trial}: the worker exited with ${JSON.stringify(exit)} after SIGTERM`);

    // A worker that finishes its jobs elsewhere: the rest of the trial's tasks, and any returned job.
    const rescuer = WorkerProcess.spawn(chaos, {
      name: `rescue-${trial}`,
      slots: SLOTS,
      engine: "wangp",
      env,
    });
    await rescuer.ready;
    await waitForAllFinished(chaos, MODELS, total, 120_000).catch((error: Error) =>
      violations.push(`trial ${trial}: ${error.message}`),
    );
    rescuer.kill("SIGTERM");
    await rescuer.exited;

    for (const job of running) {
      const details = await findTask(chaos.farm, job.taskId, { logLines: 0 });
      if (!details) continue;
      failedAttempts += details.errors.length;
      if (details.errors.length > 0) {
        violations.push(
          `trial ${trial}: ${job.taskId} has failed attempts: ${details.errors.map((e) => e.message).join("; ")}`,
        );
      }
      const finishedOn = details.finished_at ? Date.parse(details.finished_at) : 0;
      if (finishInPlace) {
        drained += 1;
        if (details.worker !== job.slotId || details.attempts.started !== 1) {
          violations.push(
            `trial ${trial}: ${job.taskId} was to finish on ${job.slotId}; finished on ${details.worker} after ${details.attempts.started} attempt(s)`,
          );
        }
      } else {
        returned += 1;
        if (!details.worker?.startsWith("gpu") || details.worker.endsWith(`@${name}`)) {
          violations.push(
            `trial ${trial}: ${job.taskId} was to be returned and finished elsewhere; finished on ${details.worker}`,
          );
        }
        if (details.started_at) recoverMs.push(Date.parse(details.started_at) - signalledAt);
      }
      if (finishedOn === 0) violations.push(`trial ${trial}: ${job.taskId} did not finish`);
    }
    // After the signal, the draining worker took no new job.
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
    await sleep(200);
  }

  const accounting = await accountForTasks(chaos, expectations);
  violations.push(...accounting.problems);
  const escaped = await escapedWrites(chaos);
  violations.push(...escaped.map((name) => `written outside the output root: ${name}`));
  await chaos.close(keepFiles(violations));
  const drainList = drainMs.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(", ");
  return {
    id: "sigterm-drain",
    title: "SIGTERM to a worker with jobs running",
    trials: TRIALS[scale],
    tasks: total,
    faults: TRIALS[scale],
    lost: accounting.lost.length,
    duplicated: accounting.duplicated.length,
    escaped: escaped.length,
    recoverMs,
    recoveryMeaning: "short drain timeout: from SIGTERM until a returned job ran again on another worker",
    violations,
    figures: [
      ["running jobs finished in place (drain timeout 60 s)", String(drained)],
      [
        "running jobs returned to their queue (drain timeout 0.5 s), then finished elsewhere",
        String(returned),
      ],
      ["failed attempts recorded on those jobs", String(failedAttempts)],
      ["SIGTERM → worker exit", drainList],
    ],
    method: [
      `Per trial: ${TASKS_PER_TRIAL} tasks of ${STEPS} steps × ${STEP_S} s; a \`wgp-farm worker\` with ${SLOTS} slots gets SIGTERM once both slots are past step 2.`,
      "Even trials: --drain-timeout 60 (the jobs finish in place). Odd trials: --drain-timeout 0.5 (the jobs go back to their queue). A second worker then finishes what is left.",
    ],
    durationS: elapsed(),
  };
}
