/**
 * Redis behind Sentinel (a primary, a replica, three Sentinels) and a farm connected only through
 * Sentinel: 2 `wgp-farm worker` processes × 2 slots, a `wgp-farm watch` importer fed one tasks file
 * after another, and a `wgp-farm dashboard`. Mid-run the primary is killed (SIGKILL); the Sentinels
 * promote the replica, and the farm must go on there without anyone restarting anything.
 *
 * Replication is asynchronous, so a failover may lose what the primary had not passed on yet: the
 * scenario reports each task's fate. What it must never lose is an import the watcher acknowledged
 * (its tasks file claimed and removed): the importer waits for a replica (WAIT) before that.
 */
import { mkdir, readdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { bestEffort } from "@wgp-farm/config";
import { execa, type ResultPromise } from "execa";
import { ChaosFarm, keepFiles } from "../harness/chaos-farm.ts";
import { DashboardProcess } from "../harness/dashboard-process.ts";
import { finishedCount, until, waitForAllFinished } from "../harness/farm-watch.ts";
import { harnessLog } from "../harness/harness-log.ts";
import { WGP_FARM_BIN } from "../harness/paths.ts";
import { type Random, seededRandom } from "../harness/random.ts";
import { formatMs, median, type Scale, type ScenarioResult, startClock } from "../harness/scenario-result.ts";
import {
  checkTheEnd,
  type EndCheck,
  endStates,
  recordFailure,
  startTwoHosts,
} from "../harness/scenario-steps.ts";
import { SentinelCluster } from "../harness/sentinel-cluster.ts";
import type { TaskExpectation } from "../harness/task-accounting.ts";
import type { WorkerFleet } from "../harness/worker-process.ts";

interface Size {
  trials: number;
  tasks: number;
  batch: number;
  killAfterFinished: number;
  /**
   * Every other trial (the odd ones) freezes the replica (SIGSTOP) this long just before the kill:
   * the import handed over then gets no acknowledgement from it and must be done again on the new
   * primary. (The kernel still buffers the replication stream, so the replica misses no write.)
   */
  replicaFreezeMs: number;
}

const SIZES: Record<Scale, Size> = {
  short: { trials: 1, tasks: 16, batch: 4, killAfterFinished: 3, replicaFreezeMs: 0 },
  full: { trials: 4, tasks: 60, batch: 5, killAfterFinished: 10, replicaFreezeMs: 700 },
};

const MODELS = ["t2v", "i2v"];
const STEPS = 6;
const OUTAGE_LINE = "Redis unreachable; reconnecting";
/** What a process must never print: the raw stacks of an unhandled ioredis error. */
const RAW_ERROR = /Unhandled error event|^\s+at .*\(node:/m;

/** The pid of the redis-server at `address`, as it says itself. */
async function pidOf(address: { host: string; port: number }): Promise<number> {
  const { stdout } = await execa("redis-cli", [
    "-h",
    address.host,
    "-p",
    String(address.port),
    "INFO",
    "server",
  ]);
  const pid = Number(/process_id:(\d+)/.exec(stdout)?.[1]);
  if (!pid) throw new Error(`no process_id from the Redis on port ${address.port}`);
  return pid;
}

/** The URL every process of the farm is given: the Sentinels and the name of the primary they watch. */
function sentinelUrlOf(cluster: SentinelCluster): string {
  const sentinels = cluster.sentinels.map(({ host, port }) => `${host}:${port}`).join(",");
  return `redis+sentinel://${sentinels}/${cluster.masterName}`;
}

/** A `wgp-farm watch` process importing `<folder>/tasks.json` as it appears. */
class WatchProcess {
  readonly tasksFile: string;
  readonly #child: ResultPromise;
  #output = "";
  #exited = false;

  private constructor(tasksFile: string, child: ResultPromise) {
    this.tasksFile = tasksFile;
    this.#child = child;
    void child.finally(() => {
      this.#exited = true;
    });
    child.all?.on("data", (chunk: Buffer) => {
      this.#output += chunk.toString();
    });
  }

  static async start(chaos: ChaosFarm): Promise<WatchProcess> {
    const folder = path.join(chaos.dir, "tasks");
    await mkdir(folder, { recursive: true });
    const tasksFile = path.join(folder, "tasks.json");
    const child = execa(WGP_FARM_BIN, ["watch", "--tasks-file", tasksFile, "--poll-interval", "1"], {
      env: { REDIS_URL: chaos.redisUrl, WGP_FARM_PREFIX: chaos.prefix, WGP_FARM_LOG_FORMAT: "json" },
      all: true,
      buffer: false,
      reject: false,
      stdin: "ignore",
    });
    const watcher = new WatchProcess(tasksFile, child);
    await until(
      () => (watcher.output().includes("watching ") ? true : undefined),
      20_000,
      "the watcher to start",
    );
    return watcher;
  }

  output(): string {
    return this.#output;
  }

  get running(): boolean {
    return !this.#exited;
  }

  /**
   * Hands over one tasks file (written aside, then renamed into place) and resolves once the watcher
   * has acknowledged it: the file and its claimed copy are gone. Resolves to the ms that took.
   */
  async importAndWait(tasks: readonly unknown[]): Promise<number> {
    const started = Date.now();
    const folder = path.dirname(this.tasksFile);
    // Written aside, then renamed in: the watcher never reads half a file.
    const aside = path.join(folder, `next-${started}.json`);
    await writeFile(aside, JSON.stringify(tasks));
    await rename(aside, this.tasksFile);
    const pending = (name: string) => name === "tasks.json" || name.startsWith(".tasks.json.claimed-");
    await until(
      async () => ((await readdir(folder)).some(pending) ? undefined : true),
      60_000,
      "the watcher to acknowledge a tasks file",
      100,
    );
    return Date.now() - started;
  }

  async stop(): Promise<void> {
    this.#child.kill("SIGTERM");
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 10_000);
    await this.#child;
    clearTimeout(timer);
  }
}

/** What became of each task of a trial, as an operator would tell it. */
interface Fates {
  completedOnce: number;
  /** Completed, but an engine ran it more than once (its completion or its lock lost in the failover). */
  completedAfterRerun: number;
  /** Acknowledged imports that are not there at the end, or did not finish. */
  lost: number;
  /** Ended otherwise than completed. */
  other: number;
}

interface Trial {
  end: EndCheck;
  fates: Fates;
  promotedMs: number;
  /** From the kill until a task finished on the promoted primary. */
  farmBackMs: number | undefined;
  /** From the kill until the dashboard's /healthz said 200 again. */
  dashboardBackMs: number | undefined;
  ackMs: number[];
  /** Imports the watcher had to try again (a batch that got no acknowledgement). */
  importRetries: number;
  /** Outage lines logged by each process (workers, watcher, dashboard). */
  outageLines: number[];
  finishedAtKill: number;
}

async function healthy(url: string): Promise<boolean> {
  const response = await fetch(new URL("healthz", url), { signal: AbortSignal.timeout(2_000) }).catch(
    () => undefined,
  );
  return response?.status === 200;
}

function tasksOf(
  trial: number,
  size: Size,
): Array<{ task: Record<string, unknown>; expectation: TaskExpectation }> {
  return Array.from({ length: size.tasks }, (_, i) => {
    const taskId = `failover-${trial}-${i}`;
    const model = MODELS[i % MODELS.length] as string;
    return {
      task: { task_id: taskId, prompt: `a lighthouse in a storm, take ${i}`, model, steps: STEPS, seed: i },
      expectation: { taskId, outputSubDir: taskId, outcome: "completed" as const },
    };
  });
}

/** Hands the tasks over one file after another, each once the one before was acknowledged. */
async function feed(
  watcher: WatchProcess,
  tasks: ReadonlyArray<Record<string, unknown>>,
  size: Size,
  ackMs: number[],
): Promise<void> {
  for (let i = 0; i < tasks.length; i += size.batch) {
    ackMs.push(await watcher.importAndWait(tasks.slice(i, i + size.batch)));
  }
}

/**
 * Once `size.killAfterFinished` tasks have finished, hands the watcher one more tasks file and kills
 * the primary a random moment later (0–0.4 s): that import races the failover, so it is acknowledged
 * before the kill (then a replica has it) or after the promotion, never in between. Measures the way back.
 */
async function failOver(
  cluster: SentinelCluster,
  chaos: ChaosFarm,
  dashboard: DashboardProcess,
  racer: () => Promise<number>,
  size: Size,
  random: Random,
  replicaFreezeMs: number,
): Promise<
  Pick<Trial, "promotedMs" | "farmBackMs" | "dashboardBackMs" | "finishedAtKill"> & { racerAckMs: number }
> {
  await until(
    async () => ((await finishedCount(chaos, MODELS)) >= size.killAfterFinished ? true : undefined),
    120_000,
    `${size.killAfterFinished} tasks to finish before the failover`,
    100,
  );
  const replicaPid = replicaFreezeMs > 0 ? await pidOf(cluster.replica) : undefined;
  if (replicaPid) process.kill(replicaPid, "SIGSTOP");
  const killAndComeBack = async () => {
    await sleep(replicaFreezeMs || random.between(0, 400));
    const finishedAtKill = await finishedCount(chaos, MODELS);
    const killedAt = Date.now();
    await cluster.killPrimary();
    // Thawed before the Sentinels judge it down too (down-after 1 s), so that it can be promoted.
    if (replicaPid) process.kill(replicaPid, "SIGCONT");
    const promotedMs = await cluster.whenPromoted(60_000);
    const [farmBackMs, dashboardBackMs] = await Promise.all([
      until(
        async () =>
          (await finishedCount(chaos, MODELS).catch(() => -1)) > finishedAtKill
            ? Date.now() - killedAt
            : undefined,
        90_000,
        "a task to finish on the promoted primary",
        100,
      ).catch(() => undefined),
      until(
        async () => ((await healthy(dashboard.url)) ? Date.now() - killedAt : undefined),
        90_000,
        "the dashboard's /healthz to answer 200 again",
        100,
      ).catch(() => undefined),
    ]);
    return { promotedMs, farmBackMs, dashboardBackMs, finishedAtKill };
  };
  // One join for both: when the failover fails, that is the error, and the racing import's own wait
  // (which cannot end well then) is not left to reject unheard.
  const [failover, racerAckMs] = await Promise.all([killAndComeBack(), racer()]);
  return { ...failover, racerAckMs };
}

function fatesOf(end: EndCheck, expectations: readonly TaskExpectation[]): Fates {
  const fates: Fates = {
    completedOnce: 0,
    completedAfterRerun: 0,
    lost: end.accounting.lost.length,
    other: 0,
  };
  const lost = new Set(end.accounting.lost);
  const unexpected = new Set(end.accounting.unexpected);
  for (const { taskId } of expectations) {
    if (lost.has(taskId)) continue;
    if (unexpected.has(taskId)) fates.other += 1;
    else if ((end.accounting.runs.get(taskId) ?? 0) > 1) fates.completedAfterRerun += 1;
    else fates.completedOnce += 1;
  }
  return fates;
}

function countLines(text: string, msg: string): number {
  return text.split("\n").filter((line) => line.includes(`"msg":"${msg}`)).length;
}

/** The processes kept running on their own: nobody restarted them, and none printed raw error stacks. */
function checkTheProcesses(
  fleet: WorkerFleet,
  watcher: WatchProcess,
  dashboard: DashboardProcess,
  violations: string[],
): void {
  if (fleet.restarts > 0) violations.push(`${fleet.restarts} worker(s) exited and had to be started again`);
  if (!dashboard.running) violations.push("the dashboard exited");
  if (!watcher.running) violations.push("the watcher exited");
  const outputs: Array<[string, string]> = [
    ["the watcher", watcher.output()],
    ["the dashboard", dashboard.output()],
    ...fleet.history().map((worker): [string, string] => [`worker ${worker.spec.name}`, worker.tail(300)]),
  ];
  for (const [who, output] of outputs) {
    if (RAW_ERROR.test(output)) violations.push(`${who} printed raw error stacks`);
  }
}

async function runTrial(trial: number, size: Size, random: Random, violations: string[]): Promise<Trial> {
  const cluster = await SentinelCluster.start(`wgp-farm-${trial}`);
  let chaos: ChaosFarm | undefined;
  try {
    await cluster.whenReplicaSeen();
    // The cluster is the scenario's own Redis: the farm reaches it only through the Sentinels.
    const url = sentinelUrlOf(cluster);
    chaos = await ChaosFarm.create("failover", {
      redis: async () => ({ url, pid: undefined, stop: async () => undefined }),
    });
    return await trialOn(cluster, chaos, trial, size, random, violations);
  } catch (error) {
    // The error ends the scenario; with CHAOS_KEEP=1 the trial's folders stay, as a violation's do.
    violations.push((error as Error).message);
    throw error;
  } finally {
    await chaos?.close(keepFiles(violations));
    await cluster.stop(keepFiles(violations));
  }
}

interface Stoppable {
  stop(): Promise<void>;
}

/** Stops each process in turn, taking it off the list: what a failed stop leaves is still there. */
async function stopAll(processes: Stoppable[]): Promise<void> {
  for (let one = processes.shift(); one; one = processes.shift()) await one.stop();
}

/** One trial on a farm reaching the cluster: its processes are stopped however the trial ends. */
async function trialOn(
  cluster: SentinelCluster,
  chaos: ChaosFarm,
  trial: number,
  size: Size,
  random: Random,
  violations: string[],
): Promise<Trial> {
  const tasks = tasksOf(trial, size);
  const expectations = tasks.map(({ expectation }) => expectation);
  const fleet = await startTwoHosts(chaos, { env: { FAKE_WANGP_STEP_S: "0.1", FAKE_WANGP_LOAD_S: "0.2" } });
  // Stopped in this order (watcher, dashboard, workers) before the end check, or on the way out.
  const running: Stoppable[] = [fleet];
  try {
    const dashboard = await DashboardProcess.start(chaos);
    running.unshift(dashboard);
    const watcher = await WatchProcess.start(chaos);
    running.unshift(watcher);
    const ackMs: number[] = [];
    const all = tasks.map(({ task }) => task);
    const half = Math.floor(all.length / 2 / size.batch) * size.batch;
    await feed(watcher, all.slice(0, half), size, ackMs);
    const racerTasks = all.slice(half, half + size.batch);
    const { racerAckMs, ...failover } = await failOver(
      cluster,
      chaos,
      dashboard,
      () => watcher.importAndWait(racerTasks),
      size,
      random,
      trial % 2 === 1 ? size.replicaFreezeMs : 0,
    );
    ackMs.push(racerAckMs);
    await recordFailure(feed(watcher, all.slice(half + size.batch), size, ackMs), violations, "importing");
    await recordFailure(waitForAllFinished(chaos, MODELS, size.tasks, 180_000), violations);
    checkTheProcesses(fleet, watcher, dashboard, violations);
    const outputs = [
      watcher.output(),
      dashboard.output(),
      ...fleet.workers().map((worker) => worker.tail(300)),
    ];
    const importRetries = countLines(watcher.output(), "could not import the tasks file");
    await stopAll(running);
    const end = await checkTheEnd(chaos, expectations, violations);
    return {
      ...failover,
      end,
      fates: fatesOf(end, expectations),
      ackMs,
      importRetries,
      outageLines: outputs.map((output) => countLines(output, OUTAGE_LINE)),
    };
  } finally {
    // Only after an error: the processes must not outlive the trial (nor print into the next one).
    for (const one of running.splice(0)) {
      await bestEffort(() => one.stop(), harnessLog, "stopping a farm process after a failed trial");
    }
  }
}

export async function redisFailoverScenario(scale: Scale): Promise<ScenarioResult> {
  const size = SIZES[scale];
  const elapsed = startClock();
  const random = seededRandom();
  const violations: string[] = [];
  const trials: Trial[] = [];
  for (let trial = 0; trial < size.trials; trial++)
    trials.push(await runTrial(trial, size, random, violations));
  return report(size, trials, random.seed, violations, elapsed());
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function report(
  size: Size,
  trials: readonly Trial[],
  seed: number,
  violations: string[],
  durationS: number,
): ScenarioResult {
  const fates = (pick: (fates: Fates) => number) => sum(trials.map((trial) => pick(trial.fates)));
  const ackMs = trials.flatMap((trial) => trial.ackMs);
  const states: Record<string, number> = {};
  for (const trial of trials) {
    for (const [state, n] of Object.entries(trial.end.accounting.states))
      states[state] = (states[state] ?? 0) + n;
  }
  const spread = (values: ReadonlyArray<number | undefined>) => {
    const known = values.filter((value): value is number => value !== undefined);
    return `${formatMs(median(known))} / ${formatMs(known.length ? Math.max(...known) : undefined)}`;
  };
  return {
    id: "redis-failover",
    title: "Redis primary killed; Sentinel promotes the replica",
    trials: trials.length,
    tasks: size.tasks * trials.length,
    faults: trials.length,
    lost: sum(trials.map((trial) => trial.end.accounting.lost.length)),
    duplicated: sum(trials.map((trial) => trial.end.accounting.duplicated.length)),
    escaped: sum(trials.map((trial) => trial.end.escaped.length)),
    recoverMs: trials.flatMap((trial) => (trial.farmBackMs === undefined ? [] : [trial.farmBackMs])),
    recoveryMeaning: "from the SIGKILL of the primary until a task finished on the promoted replica",
    violations,
    figures: [
      ["task fates: completed, engine ran once", String(fates((f) => f.completedOnce))],
      [
        "task fates: completed, engine ran more than once, one result (work lost in the failover, done again)",
        String(fates((f) => f.completedAfterRerun)),
      ],
      ["task fates: acknowledged import lost, or never finished", String(fates((f) => f.lost))],
      ["task fates: ended otherwise than completed", String(fates((f) => f.other))],
      ["end states", endStates(states)],
      ["Sentinel promotion after the kill (median / max)", spread(trials.map((trial) => trial.promotedMs))],
      [
        "dashboard /healthz 200 again after the kill (median / max)",
        spread(trials.map((trial) => trial.dashboardBackMs)),
      ],
      ["import acknowledgement per tasks file (median / max)", spread(ackMs)],
      [
        "imports retried by the watcher (no acknowledgement)",
        String(sum(trials.map((trial) => trial.importRetries))),
      ],
      [
        "'Redis unreachable' lines per process and failover (max)",
        String(Math.max(0, ...trials.flatMap((trial) => trial.outageLines))),
      ],
      ["tasks finished when the primary was killed", trials.map((trial) => trial.finishedAtKill).join(", ")],
      ["seed (CHAOS_SEED to replay)", String(seed)],
    ],
    method: [
      `${size.trials} trial(s), each on a fresh Sentinel setup (one primary, one replica, three Sentinels, quorum 2, down-after 1 s, the third Sentinel 3 s so that it only votes and the election cannot split three ways; no persistence: the replica's copy is all there is).`,
      `Every process is given only the Sentinel URL (redis+sentinel://…/<master>): 2 \`wgp-farm worker\` processes × 2 slots (engine-py + WanGP double, ${STEPS} steps × 0.1 s), a \`wgp-farm watch\` importer and a \`wgp-farm dashboard\`.`,
      `${size.tasks} tasks per trial on two models, handed to the watcher ${size.batch} per tasks file, each file once the one before was acknowledged (claimed and removed); the importer acknowledges only what a replica confirmed (WAIT). Half the tasks go in before the failover.`,
      `Once ${size.killAfterFinished} tasks have finished, one more tasks file is handed over and the primary is SIGKILLed a random 0–0.4 s later, so that this import races the failover; the rest go in after it. Nothing is restarted or told anything.`,
      ...(size.replicaFreezeMs > 0
        ? [
            `In every other trial the replica is frozen (SIGSTOP) for ${size.replicaFreezeMs} ms just before the kill and thawed right after it, so the import handed over then gets no acknowledgement from a replica (WAIT) and the watcher must do it again on the new primary. The kernel still buffers the replication stream meanwhile: the replica misses no write, so this does not make the failover lose job progress.`,
          ]
        : []),
      "Each task's fate is counted from Redis's final state and the engine's submit record: run once, or run again because the failover lost its completion or its lock (one result either way).",
    ],
    durationS,
  };
}
