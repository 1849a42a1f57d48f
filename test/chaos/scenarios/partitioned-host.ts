/**
 * Worker hosts in network namespaces of their own, Redis in a hub namespace; one host's link is cut
 * mid-job (link down, or every packet dropped) for less than the lock, or for longer: then the host
 * must stop its engine job within the lock duration plus a few seconds (it cannot renew the lock, so
 * the farm gives the job to the other host), and once healed it must publish nothing. Same end checks
 * as the frozen worker: one result per task naming the attempt Redis completed, no staging left.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { findTask } from "@wgp-farm/queue";
import { ChaosFarm, keepFiles } from "../harness/chaos-farm.ts";
import { followRecovery, type RunningJob, runningJobs, until } from "../harness/farm-watch.ts";
import {
  checkFencedTask,
  type FencedTask,
  staleAttemptNoticed,
  wastedGpuSeconds,
} from "../harness/fencing-checks.ts";
import {
  type CutMode,
  canMakeNamespaces,
  type NetHost,
  NetLab,
  SERVICE_ADDRESS,
} from "../harness/net-lab.ts";
import { RedisNode } from "../harness/redis-node.ts";
import { formatMs, median, type Scale, type ScenarioResult, startClock } from "../harness/scenario-result.ts";
import { checkTheEnd, damageOf, endStates, importAll, recordFailure } from "../harness/scenario-steps.ts";
import type { TaskExpectation } from "../harness/task-accounting.ts";
import { WorkerFleet, type WorkerProcess } from "../harness/worker-process.ts";

const SIZES = {
  short: { trials: 2 },
  full: { trials: 12 },
} as const;

const MODEL = "t2v";
const REDIS_PORT = 6379;
const LOCK_MS = 2_000;
const STALLED_MS = 1_000;
/** 40 steps × 0.1 s: the engine job outlasts the lock, so that a cut-off host has GPU work to stop. */
const STEPS = 40;
const STEP_S = 0.1;
/** How long after the lock a cut-off host may take to stop its engine job ("a few seconds"). */
const STOP_SLACK_MS = 3_000;
const SHORT_CUT_MS = LOCK_MS / 2;

type CutLength = "longer-than-lock" | "shorter-than-lock";

interface Trial {
  task: FencedTask;
  mode: CutMode;
  length: CutLength;
  /** From the cut until the host's engine job stopped (long cuts). */
  stopMs: number | undefined;
  /** From the cut until the other host ran the job (long cuts). */
  rerunMs: number | undefined;
  /** Whether the attempt lost its job (always for a long cut; a short one should keep it). */
  lost: boolean;
}

interface Lab {
  net: NetLab;
  hosts: Map<string, NetHost>;
}

export async function partitionedHostScenario(scale: Scale): Promise<ScenarioResult> {
  const size = SIZES[scale];
  const elapsed = startClock();
  const violations: string[] = [];
  if (!(await canMakeNamespaces())) {
    violations.push("network namespaces cannot be made here (needs root and iproute2): nothing was tried");
    return report(size.trials, [], 0, { seconds: 0, lostAttempts: 0 }, undefined, violations, elapsed);
  }
  const net = await NetLab.create();
  const lab: Lab = { net, hosts: new Map() };
  const chaos = await ChaosFarm.create("partitioned-host", { redis: (dir) => redisInHub(net, dir) });
  const fleet = await startHosts(chaos, lab);
  const trials: Trial[] = [];
  let overwritten = 0;
  for (let i = 0; i < size.trials; i++) {
    const length: CutLength = i % 2 === 0 ? "longer-than-lock" : "shorter-than-lock";
    const mode: CutMode = Math.floor(i / 2) % 2 === 0 ? "link-down" : "drop";
    const trial = await recordFailure(
      cutDuringJob(chaos, fleet, lab, `cut-${i}`, mode, length, violations),
      violations,
      `trial ${i} (${mode}, ${length})`,
    );
    if (!trial) continue;
    trials.push(trial);
    const verdict = await checkFencedTask(chaos, trial.task);
    if (verdict.overwritten) overwritten += 1;
    violations.push(...verdict.problems);
  }
  for (const host of lab.hosts.values()) if (host.isCut) await host.heal();
  await fleet.stop();
  const expectations = trials.map(({ task }): TaskExpectation => ({ ...task, outcome: "completed" }));
  const end = await checkTheEnd(chaos, expectations, violations);
  const wasted = await wastedGpuSeconds(chaos);
  const lostTrials = trials.filter((trial) => trial.lost).length;
  if (wasted.lostAttempts !== lostTrials) {
    violations.push(
      `${wasted.lostAttempts} lost attempts counted for ${lostTrials} attempts cut off past the lock`,
    );
  }
  await chaos.close(keepFiles(violations));
  await net.remove();
  return report(size.trials, trials, overwritten, wasted, end, violations, elapsed);
}

/** redis-server in the hub; the harness reads it through its unix socket, the hosts over their links. */
async function redisInHub(
  net: NetLab,
  dir: string,
): Promise<{ url: string; pid: number | undefined; stop(): Promise<void> }> {
  const redisDir = path.join(dir, "redis");
  await mkdir(redisDir, { recursive: true });
  const unixSocket = path.join(redisDir, "redis.sock");
  const node = await RedisNode.start({
    host: SERVICE_ADDRESS,
    port: REDIS_PORT,
    dir: redisDir,
    unixSocket,
    wrap: (command, args) => net.inHub(command, args),
  });
  return { url: unixSocket, pid: node.pid, stop: () => node.stop() };
}

async function startHosts(chaos: ChaosFarm, lab: Lab): Promise<WorkerFleet> {
  const specs = [];
  for (const name of ["host-a", "host-b"]) {
    const host = await lab.net.addHost(name);
    lab.hosts.set(name, host);
    specs.push({
      name,
      slots: 1,
      engine: "wangp" as const,
      env: { FAKE_WANGP_STEP_S: String(STEP_S), FAKE_WANGP_LOAD_S: "0.2" },
      args: ["--lock-duration-ms", String(LOCK_MS), "--stalled-interval-ms", String(STALLED_MS)],
      wrap: (command: string, args: readonly string[]) => host.command(command, args),
      redisUrl: `redis://${SERVICE_ADDRESS}:${REDIS_PORT}`,
    });
  }
  const fleet = new WorkerFleet(chaos, specs);
  await fleet.start();
  return fleet;
}

/** One trial: a task, its host cut off at step 2, healed after the cut's length, the task completed. */
async function cutDuringJob(
  chaos: ChaosFarm,
  fleet: WorkerFleet,
  lab: Lab,
  taskId: string,
  mode: CutMode,
  length: CutLength,
  violations: string[],
): Promise<Trial> {
  const outputSubDir = `runs/${taskId}`;
  const task = {
    task_id: taskId,
    prompt: `a severed cable (${taskId})`,
    model: MODEL,
    steps: STEPS,
    seed: 11,
    output_sub_dir: outputSubDir,
  };
  const problems: string[] = [];
  await importAll(chaos, [task], { attempts: 3, backoffMs: 200 }, problems);
  if (problems.length > 0) throw new Error(problems.join("; "));
  const running = await until(
    async () => (await runningJobs(chaos, [MODEL])).find((job) => job.taskId === taskId && job.step >= 2),
    30_000,
    `${taskId} at step 2`,
    50,
  );
  const worker = workerOf(fleet, running);
  const host = lab.hosts.get(worker.spec.name);
  if (!host) throw new Error(`no lab host ${worker.spec.name}`);
  const fenced: FencedTask = { taskId, model: MODEL, outputSubDir, staleSlot: running.slotId };
  const cutAt = Date.now();
  await host.cut(mode);
  let stopMs: number | undefined;
  let rerunMs: number | undefined;
  try {
    if (length === "shorter-than-lock") await sleep(SHORT_CUT_MS);
    else {
      stopMs = (await engineJobStopped(worker, taskId, LOCK_MS + STOP_SLACK_MS + 5_000)) - cutAt;
      if (stopMs > LOCK_MS + STOP_SLACK_MS) {
        violations.push(
          `${taskId}: the cut-off host stopped its engine job ${formatMs(stopMs)} after the cut`,
        );
      }
      rerunMs = (await followRecovery(chaos, running, cutAt, 30_000)).rerunMs;
      await untilCompleted(chaos, taskId);
    }
  } finally {
    await host.heal();
  }
  const lost = length === "longer-than-lock" || (await lostItsJob(worker, taskId));
  // Not noticing is a violation, yet the folder is checked all the same.
  if (lost) await recordFailure(staleAttemptNoticed(chaos, fenced, 30_000), violations);
  await untilCompleted(chaos, taskId);
  return { task: fenced, mode, length, stopMs, rerunMs, lost };
}

/** When the worker logged that its engine job stopped for a lost lock (epoch ms, the log line's own time). */
async function engineJobStopped(worker: WorkerProcess, taskId: string, timeoutMs: number): Promise<number> {
  return until(
    () => {
      const line = worker.logged(/job lost to another attempt/).find((entry) => entry.task_id === taskId);
      return typeof line?.time === "number" ? line.time : undefined;
    },
    timeoutMs,
    `${worker.spec.name} to stop its engine job for ${taskId}`,
    50,
  );
}

/** Whether a short cut still cost the attempt its job (possible when a renewal was due right then). */
async function lostItsJob(worker: WorkerProcess, taskId: string): Promise<boolean> {
  await sleep(LOCK_MS);
  return worker.logged(/job lost to another attempt/).some((entry) => entry.task_id === taskId);
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
    40_000,
    `${taskId} to complete`,
    100,
  );
}

function report(
  planned: number,
  trials: readonly Trial[],
  overwritten: number,
  wasted: { seconds: number; lostAttempts: number },
  end: Awaited<ReturnType<typeof checkTheEnd>> | undefined,
  violations: string[],
  elapsed: () => number,
): ScenarioResult {
  const long = trials.filter((trial) => trial.length === "longer-than-lock");
  const stopMs = long.map((trial) => trial.stopMs).filter((ms): ms is number => ms !== undefined);
  const rerunMs = long.map((trial) => trial.rerunMs).filter((ms): ms is number => ms !== undefined);
  const shortLost = trials.filter((trial) => trial.length === "shorter-than-lock" && trial.lost).length;
  return {
    id: "partitioned-host",
    title: "A worker host cut off from Redis by the network mid-job",
    trials: planned,
    tasks: planned,
    faults: trials.length,
    ...(end ? damageOf(end) : { lost: 0, duplicated: 0, escaped: 0 }),
    overwritten,
    wastedGpuS: wasted.seconds,
    recoverMs: rerunMs,
    recoveryMeaning: "from the cut until the other host ran the job (cuts longer than the lock)",
    violations,
    figures: [
      ["cuts longer / shorter than the lock", `${long.length} / ${trials.length - long.length}`],
      [
        `cut-off host stopped its engine job after (median / max; bound ${formatMs(LOCK_MS + STOP_SLACK_MS)})`,
        `${formatMs(median(stopMs))} / ${formatMs(stopMs.length > 0 ? Math.max(...stopMs) : undefined)}`,
      ],
      ["short cuts that still cost the attempt its job", String(shortLost)],
      ["lost attempts counted by the farm", String(wasted.lostAttempts)],
      ["wasted GPU time (cut-off hosts)", `${wasted.seconds.toFixed(1)} s`],
      ["end states", end ? endStates(end.accounting.states) : "–"],
    ],
    method: [
      `${planned} tasks, one at a time, on 2 \`wgp-farm worker\` processes × 1 slot, each in a network namespace of its own joined to a hub namespace holding redis-server by its own veth pair (the harness reads Redis through its unix socket). Engine-py with the WanGP double, ${STEPS} steps × ${STEP_S} s.`,
      `Lock ${LOCK_MS} ms, stalled check every ${STALLED_MS} ms. At step 2 the link of the host running the task is cut: link down and netem loss 100 % in turn.`,
      `Even trials: the cut lasts until the other host has completed the task; the cut-off host must have stopped its engine job within the lock + ${STOP_SLACK_MS / 1000} s (its own log line, written without Redis). Odd trials: healed after ${SHORT_CUT_MS} ms, shorter than the lock.`,
      "Checked per task: result.json's attempt and slot are those Redis completed the job with (and its publish claim), one finishing move and no error; a cut-off attempt recorded itself lost once healed; then the usual end check.",
    ],
    durationS: elapsed(),
  };
}
