/**
 * Engine hangs and OOMs on a share of jobs. Three kinds of fault:
 * - a task whose every attempt hangs in WanGP (`[fake:hang]`: blocks, ignores cancel): each hang must be
 *   detected (no progress for --hang-timeout), the engine killed and restarted, the task retried, and
 *   after 3 hangs quarantined;
 * - a task whose every attempt runs out of VRAM (`[fake:oom]`): retried per policy (3 attempts), then
 *   failed with an `oom:` reason;
 * - a transient hang: the engine-py process of a random running job is frozen with SIGSTOP; the hang
 *   detector must kill it, and the job must complete on its next attempt.
 * Every other task must be unaffected: completed on its first attempt, run once.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { findTask } from "@wgp-farm/queue";
import { ChaosFarm, keepFiles } from "../harness/chaos-farm.ts";
import {
  collectRecoveries,
  followRecovery,
  type Recovery,
  runningJobs,
  waitForAllFinished,
} from "../harness/farm-watch.ts";
import { isAlive } from "../harness/process-tree.ts";
import { type Random, seededRandom } from "../harness/random.ts";
import { type Scale, type ScenarioResult, startClock } from "../harness/scenario-result.ts";
import {
  checkTheEnd,
  damageOf,
  type EndCheck,
  endStates,
  recordFailure,
  startTwoHosts,
} from "../harness/scenario-steps.ts";
import type { TaskExpectation } from "../harness/task-accounting.ts";
import type { WorkerFleet } from "../harness/worker-process.ts";

const SIZES = {
  short: { tasks: 20, freezes: 2 },
  full: { tasks: 160, freezes: 12 },
} as const;

const HANG_TIMEOUT_S = 3;
const MODELS = ["t2v"];

type Kind = "hang" | "oom" | "plain";

type Size = (typeof SIZES)[Scale];

export async function hangAndOomScenario(scale: Scale): Promise<ScenarioResult> {
  const size = SIZES[scale];
  const elapsed = startClock();
  const random = seededRandom();
  const chaos = await ChaosFarm.create("hang-oom");
  const violations: string[] = [];
  const kinds = await importTasks(chaos, size);
  const fleet = await startTwoHosts(chaos, {
    env: { FAKE_WANGP_STEP_S: "0.1", FAKE_WANGP_LOAD_S: "0.2", FAKE_WANGP_FAULT_STEP: "2" },
    args: ["--hang-timeout", String(HANG_TIMEOUT_S)],
  });
  const allDone = waitForAllFinished(chaos, MODELS, size.tasks, scale === "full" ? 900_000 : 240_000);
  const freezes = await freezeRunningEngines(chaos, fleet, kinds, size, random);
  await recordFailure(allDone, violations);
  const { recoverMs } = await collectRecoveries(freezes.recoveries, violations, "frozen");
  await fleet.stop();
  const end = await checkTheEnd(chaos, expectationsOf(kinds), violations);
  const histories = await checkHistories(chaos, kinds, freezes.frozen, end, violations);
  await chaos.close(keepFiles(violations));
  return report({
    size,
    kinds,
    frozen: freezes.frozen,
    recoverMs,
    end,
    histories,
    seed: random.seed,
    violations,
    elapsed,
  });
}

/** Every 10th task (from the 4th) hangs on every attempt, every 10th from the 7th runs out of VRAM. */
async function importTasks(chaos: ChaosFarm, size: Size): Promise<Map<string, Kind>> {
  const kinds = new Map<string, Kind>();
  const tasks = Array.from({ length: size.tasks }, (_, i) => {
    const taskId = `job-${i}`;
    const kind: Kind = i % 10 === 3 ? "hang" : i % 10 === 6 ? "oom" : "plain";
    kinds.set(taskId, kind);
    return {
      task_id: taskId,
      prompt: `a fox in the snow, take ${i}${kind === "plain" ? "" : ` [fake:${kind}]`}`,
      model: "t2v",
      steps: 8,
      seed: i,
    };
  });
  await chaos.import(tasks, { attempts: 3, backoffMs: 500 });
  return kinds;
}

function expectationsOf(kinds: ReadonlyMap<string, Kind>): TaskExpectation[] {
  return [...kinds].map(([taskId, kind]) => ({
    taskId,
    outputSubDir: taskId,
    outcome: kind === "hang" ? "quarantined" : kind === "oom" ? "failed" : "completed",
    reason:
      kind === "hang" ? /^quarantined: .*3 engine crashes\/hangs/ : kind === "oom" ? /^oom: / : undefined,
  }));
}

interface Freezes {
  /** The tasks whose engine was frozen. */
  frozen: Set<string>;
  recoveries: Promise<Recovery>[];
}

/** The fault loop, transient hangs: freezes (SIGSTOP) the engine of a plain job past its first step. */
async function freezeRunningEngines(
  chaos: ChaosFarm,
  fleet: WorkerFleet,
  kinds: ReadonlyMap<string, Kind>,
  size: Size,
  random: Random,
): Promise<Freezes> {
  const freezes: Freezes = { frozen: new Set(), recoveries: [] };
  const { frozen } = freezes;
  for (let attempt = 0; frozen.size < size.freezes && attempt < size.freezes * 40; attempt++) {
    await sleep(random.between(300, 900));
    const candidates = (await runningJobs(chaos, MODELS)).filter(
      // Early in the job (8 steps): it cannot end between this read and the signal.
      (job) => kinds.get(job.taskId) === "plain" && !frozen.has(job.taskId) && job.step >= 1 && job.step <= 3,
    );
    if (candidates.length === 0) continue;
    const job = random.pick(candidates);
    const worker = fleet.workers().find((w) => job.slotId.endsWith(`@${w.spec.name}`));
    const engine = (await worker?.engines())?.find((e) => e.slotId === job.slotId);
    if (!engine || !isAlive(engine.pid)) continue;
    const frozenAt = Date.now();
    process.kill(engine.pid, "SIGSTOP");
    frozen.add(job.taskId);
    freezes.recoveries.push(followRecovery(chaos, job, frozenAt, 120_000));
  }
  return freezes;
}

interface Histories {
  hangsDetected: number;
  oomAttempts: number;
  /** Tasks without a fault that completed on their first attempt and ran once. */
  unaffected: number;
  /** The plain tasks a freeze hit, told by a hung attempt in their history. */
  victims: Set<string>;
}

/** Per kind: how many attempts, and what the attempt history says. */
async function checkHistories(
  chaos: ChaosFarm,
  kinds: ReadonlyMap<string, Kind>,
  frozen: ReadonlySet<string>,
  end: EndCheck,
  violations: string[],
): Promise<Histories> {
  const histories: Histories = { hangsDetected: 0, oomAttempts: 0, unaffected: 0, victims: new Set() };
  const { victims } = histories;
  // Each freeze must have hit exactly one job (the one its engine held), and that job must have
  // completed on a retry.
  for (const [taskId, kind] of kinds) {
    const details = kind === "plain" ? await findTask(chaos.farm, taskId, { logLines: 0 }) : null;
    if (details?.errors.some((error) => /^hung: /.test(error.message))) victims.add(taskId);
  }
  if (victims.size !== frozen.size) {
    violations.push(
      `${frozen.size} engines frozen, but ${victims.size} tasks without a marker had a hung attempt: ${[...victims].join(", ")}`,
    );
  }
  for (const [taskId, kind] of kinds) {
    const details = await findTask(chaos.farm, taskId, { logLines: 0 });
    if (!details) continue;
    const runs = end.accounting.runs.get(taskId) ?? 0;
    if (kind === "hang") {
      const outcomes = details.quarantine?.attempts.map((a) => a.outcome) ?? [];
      const hung = outcomes.filter((o) => o === "hung").length;
      histories.hangsDetected += hung;
      if (hung !== 3) {
        violations.push(
          `${taskId} (hangs every time): attempt outcomes ${outcomes.join(", ")}; expected 3 × hung`,
        );
      }
    } else if (kind === "oom") {
      histories.oomAttempts += details.attempts.made;
      if (details.attempts.made !== 3)
        violations.push(`${taskId} (OOM every time): ${details.attempts.made} attempts, expected 3`);
    } else if (victims.has(taskId)) {
      if (details.attempts.started < 2)
        violations.push(`${taskId} (frozen once): ${details.attempts.started} attempt, expected a retry`);
    } else if (details.attempts.started === 1 && runs === 1) {
      histories.unaffected += 1;
    } else {
      violations.push(
        `${taskId} (no fault): ${details.attempts.started} attempts started, ${runs} engine runs; expected 1`,
      );
    }
  }
  return histories;
}

interface Outcome {
  size: Size;
  kinds: ReadonlyMap<string, Kind>;
  frozen: ReadonlySet<string>;
  recoverMs: number[];
  end: EndCheck;
  histories: Histories;
  seed: number;
  violations: string[];
  elapsed: () => number;
}

function report({
  size,
  kinds,
  frozen,
  recoverMs,
  end,
  histories,
  seed,
  violations,
  elapsed,
}: Outcome): ScenarioResult {
  const count = (kind: Kind) => [...kinds.values()].filter((k) => k === kind).length;
  return {
    id: "hang-oom",
    title: "Engine hang and OOM on a share of jobs",
    trials: count("hang") * 3 + count("oom") * 3 + frozen.size,
    tasks: size.tasks,
    faults: histories.hangsDetected + histories.oomAttempts + frozen.size,
    ...damageOf(end),
    recoverMs,
    recoveryMeaning: `from freezing a job's engine (SIGSTOP) until the hang was detected and the job was back in its queue (includes the ${HANG_TIMEOUT_S} s hang timeout)`,
    violations,
    figures: [
      [
        "tasks that hang on every attempt → hangs detected",
        `${count("hang")} → ${histories.hangsDetected} (each quarantined after 3)`,
      ],
      [
        "tasks OOM on every attempt → attempts made",
        `${count("oom")} → ${histories.oomAttempts} (each failed after 3)`,
      ],
      ["transient hangs (engine frozen with SIGSTOP)", `${frozen.size}, all completed on a later attempt`],
      [
        "tasks without a fault: completed first time, run once",
        `${histories.unaffected} of ${count("plain") - histories.victims.size}`,
      ],
      ["end states", endStates(end.accounting.states)],
      ["seed (CHAOS_SEED to replay)", String(seed)],
    ],
    method: [
      `${size.tasks} tasks on 2 \`wgp-farm worker\` processes × 2 slots, engine-py + WanGP double (8 steps × 0.1 s), \`--hang-timeout ${HANG_TIMEOUT_S}\`, 3 attempts with 0.5 s backoff.`,
      "Every 10th task (from the 4th) carries `[fake:hang]` (blocks at step 2 and ignores cancel); every 10th from the 7th carries `[fake:oom]` (CUDA OOM at step 2, reworded by WanGP).",
      `Transient hangs: ${size.freezes} times, the engine-py process of a random running task without a marker gets SIGSTOP.`,
    ],
    durationS: elapsed(),
  };
}
