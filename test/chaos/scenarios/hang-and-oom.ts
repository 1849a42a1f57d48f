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
import { seededRandom } from "../harness/random.ts";
import { type Scale, type ScenarioResult, startClock } from "../harness/scenario-result.ts";
import { accountForTasks, escapedWrites, type TaskExpectation } from "../harness/task-accounting.ts";
import { WorkerFleet } from "../harness/worker-process.ts";

const SIZES = {
  short: { tasks: 20, freezes: 2 },
  full: { tasks: 160, freezes: 12 },
} as const;

const HANG_TIMEOUT_S = 3;
const MODELS = ["t2v"];

type Kind = "hang" | "oom" | "plain";

export async function hangAndOomScenario(scale: Scale): Promise<ScenarioResult> {
  const size = SIZES[scale];
  const elapsed = startClock();
  const random = seededRandom();
  const chaos = await ChaosFarm.create("hang-oom");
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
  const violations: string[] = [];
  await chaos.import(tasks, { attempts: 3, backoffMs: 500 });
  const env = { FAKE_WANGP_STEP_S: "0.1", FAKE_WANGP_LOAD_S: "0.2", FAKE_WANGP_FAULT_STEP: "2" };
  const args = ["--hang-timeout", String(HANG_TIMEOUT_S)];
  const fleet = new WorkerFleet(chaos, [
    { name: "host-a", slots: 2, engine: "wangp", env, args },
    { name: "host-b", slots: 2, engine: "wangp", env, args },
  ]);
  await fleet.start();
  const allDone = waitForAllFinished(chaos, MODELS, size.tasks, scale === "full" ? 900_000 : 240_000);

  // Transient hangs: freeze the engine of a plain job that is past its first step.
  const frozen = new Set<string>();
  const recoveries: Promise<Recovery>[] = [];
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
    recoveries.push(followRecovery(chaos, job, frozenAt, 120_000));
  }
  try {
    await allDone;
  } catch (error) {
    violations.push((error as Error).message);
  }
  const { recoverMs } = await collectRecoveries(recoveries, violations, "frozen");
  await fleet.stop();

  const expectations: TaskExpectation[] = [...kinds].map(([taskId, kind]) => ({
    taskId,
    outputSubDir: taskId,
    outcome: kind === "hang" ? "quarantined" : kind === "oom" ? "failed" : "completed",
    reason:
      kind === "hang" ? /^quarantined: .*3 engine crashes\/hangs/ : kind === "oom" ? /^oom: / : undefined,
  }));
  const accounting = await accountForTasks(chaos, expectations);
  violations.push(...accounting.problems);

  // Per kind: how many attempts, and what the attempt history says.
  let hangsDetected = 0;
  let oomAttempts = 0;
  let unaffected = 0;
  // The jobs a freeze hit, told by their history: a plain task with a hung attempt. Each freeze must
  // have hit exactly one (the job its engine held), and that job must have completed on a retry.
  const victims = new Set<string>();
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
    const runs = accounting.runs.get(taskId) ?? 0;
    if (kind === "hang") {
      const outcomes = details.quarantine?.attempts.map((a) => a.outcome) ?? [];
      hangsDetected += outcomes.filter((o) => o === "hung").length;
      if (outcomes.filter((o) => o === "hung").length !== 3) {
        violations.push(
          `${taskId} (hangs every time): attempt outcomes ${outcomes.join(", ")}; expected 3 × hung`,
        );
      }
    } else if (kind === "oom") {
      oomAttempts += details.attempts.made;
      if (details.attempts.made !== 3)
        violations.push(`${taskId} (OOM every time): ${details.attempts.made} attempts, expected 3`);
    } else if (victims.has(taskId)) {
      if (details.attempts.started < 2)
        violations.push(`${taskId} (frozen once): ${details.attempts.started} attempt, expected a retry`);
    } else if (details.attempts.started === 1 && runs === 1) {
      unaffected += 1;
    } else {
      violations.push(
        `${taskId} (no fault): ${details.attempts.started} attempts started, ${runs} engine runs; expected 1`,
      );
    }
  }
  const escaped = await escapedWrites(chaos);
  violations.push(...escaped.map((name) => `written outside the output root: ${name}`));
  const count = (kind: Kind) => [...kinds.values()].filter((k) => k === kind).length;
  await chaos.close(keepFiles(violations));
  return {
    id: "hang-oom",
    title: "Engine hang and OOM on a share of jobs",
    trials: count("hang") * 3 + count("oom") * 3 + frozen.size,
    tasks: size.tasks,
    faults: hangsDetected + oomAttempts + frozen.size,
    lost: accounting.lost.length,
    duplicated: accounting.duplicated.length,
    escaped: escaped.length,
    recoverMs,
    recoveryMeaning: `from freezing a job's engine (SIGSTOP) until the hang was detected and the job was back in its queue (includes the ${HANG_TIMEOUT_S} s hang timeout)`,
    violations,
    figures: [
      [
        "tasks that hang on every attempt → hangs detected",
        `${count("hang")} → ${hangsDetected} (each quarantined after 3)`,
      ],
      [
        "tasks OOM on every attempt → attempts made",
        `${count("oom")} → ${oomAttempts} (each failed after 3)`,
      ],
      ["transient hangs (engine frozen with SIGSTOP)", `${frozen.size}, all completed on a later attempt`],
      [
        "tasks without a fault: completed first time, run once",
        `${unaffected} of ${count("plain") - victims.size}`,
      ],
      [
        "end states",
        Object.entries(accounting.states)
          .map(([s, n]) => `${n} ${s}`)
          .join(", "),
      ],
      ["seed (CHAOS_SEED to replay)", String(random.seed)],
    ],
    method: [
      `${size.tasks} tasks on 2 \`wgp-farm worker\` processes × 2 slots, engine-py + WanGP double (8 steps × 0.1 s), \`--hang-timeout ${HANG_TIMEOUT_S}\`, 3 attempts with 0.5 s backoff.`,
      "Every 10th task (from the 4th) carries `[fake:hang]` (blocks at step 2 and ignores cancel); every 10th from the 7th carries `[fake:oom]` (CUDA OOM at step 2, reworded by WanGP).",
      `Transient hangs: ${size.freezes} times, the engine-py process of a random running task without a marker gets SIGSTOP.`,
    ],
    durationS: elapsed(),
  };
}
