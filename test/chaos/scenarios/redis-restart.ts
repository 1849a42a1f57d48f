/**
 * Redis stopped and restarted (AOF, appendfsync everysec) several times in the middle of a run, with
 * 2 workers × 2 slots and a dashboard process attached. Nobody touches the workers or the dashboard:
 * they must reconnect by themselves, and every task must end once, with one result.
 */
import { writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { SlotRegistry } from "@wgp-farm/queue";
import { ChaosFarm, keepFiles } from "../harness/chaos-farm.ts";
import { DashboardProcess } from "../harness/dashboard-process.ts";
import { finishedCount, until, waitForAllFinished } from "../harness/farm-watch.ts";
import { type Random, seededRandom } from "../harness/random.ts";
import { type Scale, type ScenarioResult, startClock } from "../harness/scenario-result.ts";
import {
  checkTheEnd,
  damageOf,
  type EndCheck,
  importAll,
  recordFailure,
  startTwoHosts,
} from "../harness/scenario-steps.ts";
import type { TaskExpectation } from "../harness/task-accounting.ts";
import type { WorkerFleet } from "../harness/worker-process.ts";

interface Outage {
  how: "stop" | "kill";
  downMs: number;
}

const SIZES: Record<Scale, { tasks: number; gapMs: [number, number]; outages: Outage[] }> = {
  short: {
    tasks: 40,
    gapMs: [1_000, 2_000],
    outages: [
      { how: "stop", downMs: 1_500 },
      { how: "kill", downMs: 1_000 },
    ],
  },
  full: {
    tasks: 240,
    gapMs: [1_500, 3_500],
    outages: [
      { how: "stop", downMs: 1_000 },
      { how: "stop", downMs: 3_000 },
      { how: "kill", downMs: 2_000 },
      // Longer than the job lock (8 s): every lock has expired when Redis is back.
      { how: "stop", downMs: 12_000 },
      { how: "kill", downMs: 500 },
      { how: "stop", downMs: 5_000 },
    ],
  },
};

const MODELS = ["t2v", "i2v"];

async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(new URL("healthz", url), { signal: AbortSignal.timeout(2_000) });
    return response.status === 200;
  } catch {
    return false;
  }
}

type Size = (typeof SIZES)[Scale];

export async function redisRestartScenario(scale: Scale): Promise<ScenarioResult> {
  const size = SIZES[scale];
  const elapsed = startClock();
  const random = seededRandom();
  const chaos = await ChaosFarm.create("redis", { persistence: "aof" });
  const violations: string[] = [];
  const expectations = await importTasks(chaos, size, violations);
  const fleet = await startTwoHosts(chaos, { env: { FAKE_WANGP_STEP_S: "0.1", FAKE_WANGP_LOAD_S: "0.2" } });
  const dashboard = await DashboardProcess.start(chaos);
  const outages = await restartRedisRepeatedly(chaos, dashboard, size, random, violations);
  await recordFailure(waitForAllFinished(chaos, MODELS, size.tasks, 300_000), violations);
  await checkNobodyRestarted(fleet, dashboard, violations);
  await dashboard.stop();
  await fleet.stop();
  const end = await checkTheEnd(chaos, expectations, violations, [/^start\.png$/]);
  await chaos.close(keepFiles(violations));
  return report({ size, outages, end, fleet, seed: random.seed, violations, elapsed });
}

/** Tasks on two models, one with a start image; settled into the AOF before the first outage. */
async function importTasks(chaos: ChaosFarm, size: Size, violations: string[]): Promise<TaskExpectation[]> {
  const expectations: TaskExpectation[] = [];
  const tasks = Array.from({ length: size.tasks }, (_, i) => {
    const taskId = `redis-${i}`;
    expectations.push({ taskId, outputSubDir: taskId, outcome: "completed" });
    return {
      task_id: taskId,
      prompt: `a harbour at dawn, take ${i}`,
      model: MODELS[i % MODELS.length],
      steps: 6,
      seed: i,
      ...(MODELS[i % MODELS.length] === "i2v" ? { image_start_paths: "start.png" } : {}),
    };
  });
  await writeFile(`${chaos.dir}/start.png`, "not really a png, the double does not read it");
  await importAll(chaos, tasks, { attempts: 3, backoffMs: 500 }, violations);
  // Let the AOF's once-a-second fsync cover the import before the first SIGKILL of Redis.
  await sleep(1_500);
  return expectations;
}

interface OutageFigures {
  recoverMs: number[];
  dashboardMs: number[];
  finishedAtEach: number[];
}

/** The fault loop: each outage after a random gap, then the farm must serve again by itself. */
async function restartRedisRepeatedly(
  chaos: ChaosFarm,
  dashboard: DashboardProcess,
  size: Size,
  random: Random,
  violations: string[],
): Promise<OutageFigures> {
  const registry = new SlotRegistry(chaos.farm.redis, chaos.farm.keys);
  const figures: OutageFigures = { recoverMs: [], dashboardMs: [], finishedAtEach: [] };
  for (const outage of size.outages) {
    await sleep(random.between(...size.gapMs));
    figures.finishedAtEach.push(await finishedCount(chaos, MODELS));
    await chaos.restartRedis(outage.how, outage.downMs);
    const backAt = Date.now();
    const back = await recordFailure(
      waitUntilServing(chaos, registry, dashboard, size, backAt),
      violations,
      `after a ${outage.how} of ${outage.downMs} ms`,
    );
    if (back) {
      figures.recoverMs.push(back.farmMs);
      figures.dashboardMs.push(back.dashboardMs);
    }
  }
  return figures;
}

/**
 * Serving again: every slot has published its status since Redis came back and a task finished
 * (`farmMs`), and the dashboard's /healthz answers 200 (`dashboardMs`), both from `backAt`.
 */
async function waitUntilServing(
  chaos: ChaosFarm,
  registry: SlotRegistry,
  dashboard: DashboardProcess,
  size: Size,
  backAt: number,
): Promise<{ farmMs: number; dashboardMs: number }> {
  const before = await finishedCount(chaos, MODELS);
  const slotsBack = until(
    async () => {
      const slots = await registry.list().catch(() => []);
      const fresh = slots.filter((slot) => Date.parse(slot.updated_at) >= backAt);
      return fresh.length >= 4 ? Date.now() - backAt : undefined;
    },
    60_000,
    "every slot to publish again after the Redis restart",
  );
  const workResumed = until(
    async () => {
      const now = await finishedCount(chaos, MODELS).catch(() => before);
      return now > before || now >= size.tasks ? Date.now() - backAt : undefined;
    },
    60_000,
    "a task to finish after the Redis restart",
  );
  const dashboardBack = until(
    async () => ((await healthy(dashboard.url)) ? Date.now() - backAt : undefined),
    60_000,
    "the dashboard's /healthz to answer 200",
  );
  const [slotMs, workMs, dashboardMs] = await Promise.all([slotsBack, workResumed, dashboardBack]);
  return { farmMs: Math.max(slotMs, workMs), dashboardMs };
}

/** Nothing was restarted or told anything: the workers and the dashboard found Redis again on their own. */
async function checkNobodyRestarted(
  fleet: WorkerFleet,
  dashboard: DashboardProcess,
  violations: string[],
): Promise<void> {
  if (fleet.restarts > 0) violations.push(`${fleet.restarts} worker(s) exited and had to be started again`);
  if (!dashboard.running) violations.push("the dashboard exited");
  // No answer at all is reported below as one more status.
  const farmView = await fetch(new URL("farm/api/status", dashboard.url)).catch(() => undefined);
  if (farmView?.status !== 200)
    violations.push(`the farm view answers ${farmView?.status} after the restarts`);
}

interface Outcome {
  size: Size;
  outages: OutageFigures;
  end: EndCheck;
  fleet: WorkerFleet;
  seed: number;
  violations: string[];
  elapsed: () => number;
}

function report({ size, outages, end, fleet, seed, violations, elapsed }: Outcome): ScenarioResult {
  const rerun = [...end.accounting.runs.values()].filter((n) => n > 1).length;
  const dashboardMs = [...outages.dashboardMs].sort((a, b) => a - b);
  return {
    id: "redis-restart",
    title: "Redis stopped and restarted mid-run (AOF)",
    trials: size.outages.length,
    tasks: size.tasks,
    faults: size.outages.length,
    ...damageOf(end),
    recoverMs: outages.recoverMs,
    recoveryMeaning:
      "from Redis answering again until every slot had published its status and a task had finished",
    violations,
    figures: [
      [
        "outages (stop = SIGTERM, kill = SIGKILL; down time)",
        size.outages.map((o) => `${o.how} ${o.downMs / 1000} s`).join(", "),
      ],
      [
        "dashboard /healthz back to 200 after Redis (median / max)",
        `${dashboardMs.length ? Math.round(dashboardMs[Math.floor(dashboardMs.length / 2)] as number) : "–"} ms / ${dashboardMs.length ? Math.round(Math.max(...dashboardMs)) : "–"} ms`,
      ],
      ["tasks finished when each outage began", outages.finishedAtEach.join(", ")],
      ["tasks whose engine ran more than once (a lock expired during an outage)", String(rerun)],
      ["workers restarted by hand / by the harness", String(fleet.restarts)],
      ["seed (CHAOS_SEED to replay)", String(seed)],
    ],
    method: [
      `${size.tasks} tasks (two models, one with a start image) on 2 \`wgp-farm worker\` processes × 2 slots (engine-py + WanGP double, 6 steps × 0.1 s), and a \`wgp-farm dashboard\` process.`,
      "Redis: a private redis-server with appendonly yes, appendfsync everysec. Each outage stops it (SIGTERM: it writes the AOF and exits) or kills it (SIGKILL), waits, and starts a new redis-server on the same port and data folder. The longest outage outlasts the 8 s job lock.",
      "No process is restarted or told anything: the workers and the dashboard must find Redis again on their own.",
    ],
    durationS: elapsed(),
  };
}
