/**
 * Random SIGKILL of worker processes and of engine-py processes, at random moments of random jobs,
 * on 2 workers × 2 slots running the real engine-py against the WanGP double. A few tasks are told to
 * break (`[fake:crash]`: the engine dies on every attempt; `[fake:error]`: WanGP fails every attempt).
 * Killed workers are started again after a second, as systemd would. Production lock and stall
 * timings. End check: every task accounted for, one result per folder, no staging left.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { ChaosFarm, keepFiles } from "../harness/chaos-farm.ts";
import { collectRecoveries, runningJobs, waitForAllFinished } from "../harness/farm-watch.ts";
import { checkNoOrphanEngines, KillAttack, pickTarget, unseenHits } from "../harness/kill-attack.ts";
import { type Random, seededRandom } from "../harness/random.ts";
import { formatMs, median, type Scale, type ScenarioResult, startClock } from "../harness/scenario-result.ts";
import {
  checkTheEnd,
  damageOf,
  type EndCheck,
  endStates,
  importAll,
  recordFailure,
  startTwoHosts,
} from "../harness/scenario-steps.ts";
import type { TaskExpectation } from "../harness/task-accounting.ts";
import type { WorkerFleet } from "../harness/worker-process.ts";

const SIZES = {
  short: { tasks: 24, kills: 10, steps: 5, stepS: 0.08 },
  full: { tasks: 500, kills: 120, steps: 8, stepS: 0.1 },
} as const;

const MODELS = ["t2v", "t2v_1.3B"];
/** Stalls + engine crashes after which the worker quarantines a task (the worker's default). */
const QUARANTINE_AFTER = 3;
/** Kills aimed at one task stay below the quarantine threshold: a task not told to break must complete. */
const HITS_PER_TASK = QUARANTINE_AFTER - 1;

type Size = (typeof SIZES)[Scale];

export async function sigkillScenario(scale: Scale): Promise<ScenarioResult> {
  const size = SIZES[scale];
  const elapsed = startClock();
  const random = seededRandom();
  const chaos = await ChaosFarm.create("sigkill");
  const violations: string[] = [];
  const plan = planTasks(size);
  await importAll(chaos, plan.tasks, { attempts: 3, backoffMs: 500 }, violations);
  const fleet = await startTwoHosts(chaos, {
    env: { FAKE_WANGP_STEP_S: String(size.stepS), FAKE_WANGP_LOAD_S: "0.2" },
  });
  const attack = await killUntilAllFinished(chaos, fleet, size, scale, random, violations);
  const recovery = await collectRecoveries(
    attack.hits.map((hit) => hit.recovery),
    violations,
    "killed",
  );
  await fleet.stop();
  await checkNoOrphanEngines(chaos, fleet, violations);
  const end = await checkTheEnd(chaos, plan.expectations, violations);
  const unseen = await unseenHits(chaos, plan.plainTasks, attack.log, violations);
  await chaos.close(keepFiles(violations));
  return report({ size, plan, attack, recovery, end, unseen, fleet, seed: random.seed, violations, elapsed });
}

interface TaskPlan {
  tasks: object[];
  expectations: TaskExpectation[];
  /** The tasks not told to break. */
  plainTasks: Set<string>;
}

/** Every 25th task from the 8th crashes its engine on every attempt, every 25th from the 20th fails in WanGP. */
function planTasks(size: Size): TaskPlan {
  const expectations: TaskExpectation[] = [];
  const plainTasks = new Set<string>();
  const tasks = Array.from({ length: size.tasks }, (_, i) => {
    const taskId = `kill-${i}`;
    const fault = i % 25 === 7 ? "crash" : i % 25 === 19 ? "error" : undefined;
    expectations.push({
      taskId,
      outputSubDir: `runs/${taskId}`,
      // A plain task may end quarantined only when its history shows three kills (see unseenHits).
      outcome:
        fault === "crash" ? "quarantined" : fault === "error" ? "failed" : ["completed", "quarantined"],
      // A task told to break may also have been killed on its last attempt.
      reason:
        fault === "crash"
          ? /^quarantined: /
          : fault === "error"
            ? /^(engine error|engine crashed): /
            : /^quarantined: /,
    });
    if (!fault) plainTasks.add(taskId);
    return {
      task_id: taskId,
      prompt: `a lighthouse in a storm, take ${i}${fault ? ` [fake:${fault}]` : ""}`,
      model: MODELS[i % MODELS.length],
      steps: size.steps,
      seed: i,
      output_sub_dir: `runs/${taskId}`,
    };
  });
  return { tasks, expectations, plainTasks };
}

/**
 * The fault loop: every 0.3–1.2 s a SIGKILL to a worker or an engine, never at a task hit twice
 * already, until the kills are spent or every task has finished; then waits for the rest to finish.
 */
async function killUntilAllFinished(
  chaos: ChaosFarm,
  fleet: WorkerFleet,
  size: Size,
  scale: Scale,
  random: Random,
  violations: string[],
): Promise<KillAttack> {
  const attack = new KillAttack(chaos, HITS_PER_TASK, () => runningJobs(chaos, MODELS));
  const allDone = waitForAllFinished(chaos, MODELS, size.tasks, scale === "full" ? 900_000 : 240_000);
  let finished = false;
  const markFinished = () => {
    finished = true;
  };
  void allDone.then(markFinished, markFinished);

  while (attack.total < size.kills && !finished) {
    await sleep(random.between(300, 1200));
    const target = await pickTarget(fleet, random);
    if (target) await attack.strike(target);
  }
  await recordFailure(allDone, violations);
  return attack;
}

interface Outcome {
  size: Size;
  plan: TaskPlan;
  attack: KillAttack;
  recovery: { recoverMs: number[]; rerunMs: number[] };
  end: EndCheck;
  unseen: string[];
  fleet: WorkerFleet;
  seed: number;
  violations: string[];
  elapsed: () => number;
}

function report({
  size,
  plan,
  attack: { kills },
  recovery: { recoverMs, rerunMs },
  end,
  unseen,
  fleet,
  seed,
  violations,
  elapsed,
}: Outcome): ScenarioResult {
  const runs = [...end.accounting.runs.values()].sort((a, b) => a - b);
  const { expectations, plainTasks } = plan;
  return {
    id: "sigkill",
    title: "Random SIGKILL of workers and engine-py processes",
    trials: kills.worker + kills.engine,
    tasks: size.tasks,
    faults: kills.worker + kills.engine + (expectations.length - plainTasks.size),
    ...damageOf(end),
    recoverMs,
    recoveryMeaning: "from the kill until the killed job was back in its queue (or running again)",
    violations,
    figures: [
      [
        "killed job ran again after (median / max)",
        `${formatMs(median(rerunMs))} / ${formatMs(Math.max(0, ...rerunMs))}`,
      ],
      ["kills of worker processes", String(kills.worker)],
      ["kills of engine-py processes", String(kills.engine)],
      ["running jobs hit / kills that hit no job", `${kills.jobsHit} / ${kills.idle}`],
      [
        "tasks told to break (engine crash / WanGP error)",
        `${expectations.filter((e) => e.outcome === "quarantined").length} / ${expectations.filter((e) => e.outcome === "failed").length}`,
      ],
      ["end states", endStates(end.accounting.states)],
      ["worker restarts (by the harness, like systemd)", String(fleet.restarts)],
      [
        "engine runs per task (median / max)",
        `${runs[Math.floor(runs.length / 2)] ?? 0} / ${Math.max(0, ...runs)}`,
      ],
      ["kills skipped (the task had been hit twice already)", String(kills.skipped)],
      [
        "plain tasks quarantined by a third kill the harness did not see (a job starting as its slot was killed)",
        unseen.length > 0 ? `${unseen.length} (${unseen.join(", ")})` : "0",
      ],
      ["seed (CHAOS_SEED to replay)", String(seed)],
    ],
    method: [
      `${size.tasks} tasks on 2 \`wgp-farm worker\` processes × 2 slots, engine-py with the WanGP double (${size.steps} steps × ${size.stepS} s, model load 0.2 s), two models; every 25th task from the 8th crashes its engine on every attempt, every 25th from the 20th fails in WanGP on every attempt.`,
      "Every 0.3–1.2 s: SIGKILL to a random worker process (its engines follow when their stdin closes) or to one of its engine-py processes; a killed worker is restarted after 1 s.",
      `Production lock (8 s) and stall check (3 s); retries: 3 attempts, 0.5 s backoff; quarantine after ${QUARANTINE_AFTER} stalls/crashes. No task is aimed at more than ${HITS_PER_TASK} times, so every task not told to break must complete — unless a kill also caught a job that its slot started between the harness's look at the running jobs and the kill: such a task may end quarantined, but only when its recorded history shows a kill of its slot during each of its ${QUARANTINE_AFTER} crashed or stalled attempts.`,
      "Recovery is measured to the job being back in its queue. When it runs again depends on its place there: a job whose worker died goes back to the front (BullMQ's stalled-job path), a job whose engine died is a failed attempt, retried after its backoff behind every waiting task of its priority.",
    ],
    durationS: elapsed(),
  };
}
