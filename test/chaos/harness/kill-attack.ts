/**
 * The SIGKILL attack the kill scenarios share: what a kill aims at (a worker process, with its slots
 * and its stitch runner, or one engine-py process), the kill itself with the jobs it hit, a cap on
 * how often one task is hit, the log the end check reads, and the checks that follow the attack.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { findTask } from "@wgp-farm/queue";
import type { ChaosFarm } from "./chaos-farm.ts";
import { followRecovery, type Recovery, type RunningJob } from "./farm-watch.ts";
import { isAlive, orphanEngines } from "./process-tree.ts";
import type { Random } from "./random.ts";
import type { WorkerFleet, WorkerProcess } from "./worker-process.ts";

/** A kill chosen for this round: what it takes down, and how. */
export interface Target {
  isWorker: boolean;
  /** Whether the kill takes down the holder (BullMQ's processedBy: `gpu<N>@<name>`, `stitch@<name>`). */
  hits: (holder: string) => boolean;
  kill: () => void;
}

function workerTarget(worker: WorkerProcess): Target {
  return {
    isWorker: true,
    hits: (holder) => holder.endsWith(`@${worker.spec.name}`),
    kill: () => worker.kill("SIGKILL"),
  };
}

/** One of the worker's engine-py processes (the one serving `slotId` when given); undefined when it has none. */
async function engineTarget(
  worker: WorkerProcess,
  random: Random,
  slotId?: string,
): Promise<Target | undefined> {
  const engines = (await worker.engines()).filter((engine) => !slotId || engine.slotId === slotId);
  if (engines.length === 0) return undefined;
  const engine = random.pick(engines);
  return {
    isWorker: false,
    hits: (holder) => holder === engine.slotId,
    kill: () => {
      if (isAlive(engine.pid)) process.kill(engine.pid, "SIGKILL");
    },
  };
}

/** Picks a worker process or one of its engines; undefined when there is nothing to aim at now. */
export async function pickTarget(fleet: WorkerFleet, random: Random): Promise<Target | undefined> {
  const workers = fleet.workers();
  if (workers.length === 0) return undefined;
  const isWorker = random.chance(0.5);
  const worker = random.pick(workers);
  return isWorker ? workerTarget(worker) : engineTarget(worker, random);
}

/**
 * Aims at the holder of one running job: the worker process of a stitch (it runs in the worker
 * itself), the worker or the engine of a slot's job, as `random` decides.
 */
export async function targetOfJob(
  fleet: WorkerFleet,
  holder: string,
  random: Random,
): Promise<Target | undefined> {
  const worker = fleet.workers().find((live) => holder.endsWith(`@${live.spec.name}`));
  if (!worker) return undefined;
  if (holder.startsWith("stitch@") || random.chance(0.5)) return workerTarget(worker);
  return engineTarget(worker, random, holder);
}

export interface KillCounts {
  worker: number;
  engine: number;
  /** Kills that hit no running job. */
  idle: number;
  jobsHit: number;
  /** Kills not made: they would have hit a task hit as often as allowed already. */
  skipped: number;
}

export interface Kill {
  at: number;
  /** Whether the kill took down the given holder (its engine, or its whole worker). */
  hits: (holder: string) => boolean;
}

/** A job a kill hit, and how it came back. */
export interface Hit {
  job: RunningJob;
  recovery: Promise<Recovery>;
}

/**
 * Kills targets, never one that would hit a task already hit `maxHitsPerTask` times, and keeps what
 * each kill hit (the running jobs read just before it) and the recovery of each job hit.
 */
export class KillAttack {
  readonly kills: KillCounts = { worker: 0, engine: 0, idle: 0, jobsHit: 0, skipped: 0 };
  readonly log: Kill[] = [];
  readonly hits: Hit[] = [];
  readonly #hitsPerTask = new Map<string, number>();
  readonly #chaos: ChaosFarm;
  readonly #maxHitsPerTask: number;
  readonly #running: () => Promise<RunningJob[]>;

  constructor(chaos: ChaosFarm, maxHitsPerTask: number, running: () => Promise<RunningJob[]>) {
    this.#chaos = chaos;
    this.#maxHitsPerTask = maxHitsPerTask;
    this.#running = running;
  }

  /** Kills made so far. */
  get total(): number {
    return this.kills.worker + this.kills.engine;
  }

  /** How often the task was hit. */
  hitsOf(taskId: string): number {
    return this.#hitsPerTask.get(taskId) ?? 0;
  }

  /**
   * Kills the target, unless it would hit a task hit as often as allowed; returns the jobs it hit
   * (undefined when skipped). The running jobs are read after the target was chosen, as close to the
   * kill as can be; a job that starts in between is still possible (see `unseenHits`).
   */
  async strike(target: Target): Promise<RunningJob[] | undefined> {
    const victims = (await this.#running()).filter((job) => target.hits(job.slotId));
    if (victims.some((job) => this.hitsOf(job.taskId) >= this.#maxHitsPerTask)) {
      this.kills.skipped += 1;
      return undefined;
    }
    const killedAt = Date.now();
    target.kill();
    this.log.push({ at: killedAt, hits: target.hits });
    if (target.isWorker) this.kills.worker += 1;
    else this.kills.engine += 1;
    if (victims.length === 0) this.kills.idle += 1;
    for (const job of victims) {
      this.kills.jobsHit += 1;
      this.#hitsPerTask.set(job.taskId, this.hitsOf(job.taskId) + 1);
      this.hits.push({ job, recovery: followRecovery(this.#chaos, job, killedAt, 300_000) });
    }
    return victims;
  }
}

/** An engine whose worker was killed notices its closed stdin and exits (within its shutdown grace). */
export async function checkNoOrphanEngines(
  chaos: ChaosFarm,
  fleet: WorkerFleet,
  violations: string[],
): Promise<void> {
  const livePids = new Set(
    fleet
      .history()
      .filter((worker) => worker.running)
      .map((worker) => worker.pid),
  );
  let orphans = await orphanEngines(livePids, chaos.dir);
  for (let waited = 0; orphans.length > 0 && waited < 15_000; waited += 500) {
    await sleep(500);
    orphans = await orphanEngines(livePids, chaos.dir);
  }
  if (orphans.length > 0) violations.push(`engine-py processes outlived their worker: ${orphans.join(", ")}`);
}

/** How far apart the kill and an attempt's recorded start or end may be (clocks and bookkeeping). */
const KILL_SLACK_MS = 1_000;

/**
 * Tasks not told to break that ended quarantined. Each is accepted only when every crashed, hung or
 * stalled attempt in its history is explained by a kill of that attempt's slot while the attempt ran;
 * an attempt no kill explains is a violation (the worker blamed the task for something the harness
 * did not do).
 */
export async function unseenHits(
  chaos: ChaosFarm,
  plainTasks: Iterable<string>,
  killLog: readonly Kill[],
  violations: string[],
): Promise<string[]> {
  const accepted: string[] = [];
  for (const taskId of plainTasks) {
    const details = await findTask(chaos.farm, taskId, { logLines: 0 });
    const quarantine = details?.quarantine;
    if (!quarantine) continue;
    const attempts = quarantine.attempts;
    const unexplained = attempts.filter((attempt, i) => {
      if (!["crashed", "hung", "stalled"].includes(attempt.outcome)) return false;
      const from = Date.parse(attempt.started_at) - KILL_SLACK_MS;
      const until =
        Date.parse(attempt.ended_at ?? attempts[i + 1]?.started_at ?? quarantine.quarantined_at) +
        KILL_SLACK_MS;
      return !killLog.some((kill) => kill.at >= from && kill.at <= until && kill.hits(attempt.slot));
    });
    if (unexplained.length > 0) {
      const what = unexplained.map((a) => `${a.outcome} on ${a.slot} at ${a.started_at}`).join("; ");
      violations.push(`${taskId}: quarantined, but no kill explains these attempts: ${what}`);
    } else accepted.push(taskId);
  }
  return accepted;
}
