/**
 * `wgp-farm api` and `wgp-farm worker` processes SIGKILLed while clients submit tasks over HTTP and
 * while the finished tasks' webhooks are delivered. Each client retries a submit whose answer it
 * never saw (connection dropped, 5xx) until it gets one: half send an Idempotency-Key and no
 * task_id, half name their tasks. End checks: every submit answered with its tasks, the farm holds
 * exactly the tasks the clients were told about (none lost, none doubled by a retry), every task
 * accounted for by the usual end check, and every completed/failed event delivered at least once to
 * a flaky receiver that checks signatures, or dead-lettered with its log.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { ApiKeys, ApiTokenStore, WebhookSubscriptions } from "@wgp-farm/api";
import { FarmEvents, findFreePort } from "@wgp-farm/queue";
import { killApiProcess, startApiProcess, untilApiUp } from "../harness/api-process.ts";
import { ChaosFarm, keepFiles } from "../harness/chaos-farm.ts";
import { waitForAllFinished } from "../harness/farm-watch.ts";
import { type Random, seededRandom } from "../harness/random.ts";
import { type Scale, type ScenarioResult, startClock } from "../harness/scenario-result.ts";
import { checkTheEnd, damageOf, endStates, recordFailure, startTwoHosts } from "../harness/scenario-steps.ts";
import type { TaskExpectation } from "../harness/task-accounting.ts";
import { settleDeliveries, WebhookReceiver } from "../harness/webhook-receiver.ts";

const SIZES = {
  short: { submits: 24, clients: 3, kills: 6, failRate: 0.2, settleMs: 60_000, finishMs: 240_000 },
  full: { submits: 300, clients: 6, kills: 40, failRate: 0.2, settleMs: 180_000, finishMs: 900_000 },
} as const;
type Size = (typeof SIZES)[Scale];
const MODEL = "t2v";

/** One client request: its tasks, and how it is made idempotent. */
interface PlannedSubmit {
  index: number;
  tasks: Record<string, unknown>[];
  idempotencyKey: string | undefined;
}

/** What the client was finally told. */
interface AnsweredSubmit {
  plan: PlannedSubmit;
  taskIds: string[];
  /** Tries before the answer (1: answered at once). */
  tries: number;
  /** A try was cut after it reached the API (the process killed mid-request), not refused at connect. */
  cut: boolean;
}

/** A failed fetch that got through to the API: anything but a refused connection. */
function reachedTheApi(error: unknown): boolean {
  return (error as { cause?: { code?: string } }).cause?.code !== "ECONNREFUSED";
}

function planSubmits(size: Size, random: Random): PlannedSubmit[] {
  return Array.from({ length: size.submits }, (_, index) => {
    const keyed = index % 2 === 0;
    const tasks = Array.from({ length: random.int(1, 3) }, (_, j) => ({
      ...(keyed ? {} : { task_id: `named-${index}-${j}` }),
      prompt: `a harbour at dawn, submit ${index} task ${j}`,
      model: MODEL,
      steps: 3,
      seed: index * 10 + j,
      output_sub_dir: `http/${index}-${j}`,
    }));
    return { index, tasks, idempotencyKey: keyed ? randomUUID() : undefined };
  });
}

/**
 * Sends one submit until it is answered: a dropped connection or a 5xx (the API killed, or Redis
 * slow) is retried with the same body and key, as a careful client does; any other 4xx is a violation.
 */
async function submitUntilAnswered(
  apiUrl: string,
  token: string,
  plan: PlannedSubmit,
  violations: string[],
): Promise<AnsweredSubmit | undefined> {
  const body = JSON.stringify(plan.tasks.length === 1 ? plan.tasks[0] : { tasks: plan.tasks });
  let cut = false;
  for (let tries = 1; tries <= 200; tries += 1) {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${token}`,
      "Content-Type": "application/json",
    };
    if (plan.idempotencyKey) headers["Idempotency-Key"] = plan.idempotencyKey;
    const res = await fetch(`${apiUrl}/v1/tasks`, {
      method: "POST",
      headers,
      body,
      signal: AbortSignal.timeout(15_000),
    }).catch((error: unknown) => {
      cut ||= reachedTheApi(error);
      return undefined;
    });
    if (res === undefined || res.status >= 500) {
      await res?.body?.cancel();
      await sleep(200);
      continue;
    }
    const answer = (await res.json()) as { tasks?: { task_id: string }[] };
    if (res.status !== 201) {
      violations.push(`submit ${plan.index} answered ${res.status}: ${JSON.stringify(answer).slice(0, 300)}`);
      return undefined;
    }
    return { plan, taskIds: (answer.tasks ?? []).map((task) => task.task_id), tries, cut };
  }
  violations.push(`submit ${plan.index} never answered`);
  return undefined;
}

interface KillCounts {
  api: number;
  worker: number;
}

interface KillTargets {
  /** Kills and restarts the API; resolves with the ms until it answered again. */
  killApi: () => Promise<number>;
  /** Kills a live worker; false when none is live now. */
  killWorker: () => boolean;
}

/**
 * Every 0.2–1 s until `done()` or the kills are spent: SIGKILL to the API (started again after
 * 0.2–0.8 s) or to a random worker (the fleet restarts it after 1 s, as systemd would). The first
 * kill is the API's, and while clients still submit the API is the likelier target.
 */
async function killWhile(
  done: () => boolean,
  submitting: () => boolean,
  size: Size,
  random: Random,
  { killApi, killWorker }: KillTargets,
  recoverMs: number[],
): Promise<KillCounts> {
  const kills: KillCounts = { api: 0, worker: 0 };
  while (!done() && kills.api + kills.worker < size.kills) {
    await sleep(random.between(200, 1_000));
    if (done()) break;
    if (kills.api === 0 || random.chance(submitting() ? 0.7 : 0.3)) {
      recoverMs.push(await killApi());
      kills.api += 1;
    } else if (killWorker()) kills.worker += 1;
  }
  return kills;
}

export async function submitKillScenario(scale: Scale): Promise<ScenarioResult> {
  const size = SIZES[scale];
  const random = seededRandom();
  const elapsed = startClock();
  const violations: string[] = [];
  const chaos = await ChaosFarm.create("submit-kill");
  const receiver = await WebhookReceiver.start(size.failRate, random);
  const port = await findFreePort();
  const apiSpec = {
    redisUrl: chaos.redisUrl,
    prefix: chaos.prefix,
    port,
    dir: chaos.outputDir,
    env: { WGP_FARM_API_SUBMIT_RATE: "100000", WGP_FARM_API_MAX_IN_FLIGHT: "100000" },
  };
  let apiProcess = startApiProcess(apiSpec);
  const fleet = await startTwoHosts(chaos, {
    env: { FAKE_WANGP_STEP_S: "0.05", FAKE_WANGP_LOAD_S: "0.1" },
  });
  const recoverMs: number[] = [];
  try {
    await untilApiUp(port);
    const token = (
      await new ApiTokenStore(chaos.farm.redis, new ApiKeys(chaos.prefix)).create("chaos", ["submit", "read"])
    ).token;
    const subscription = await new WebhookSubscriptions(chaos.farm.redis, chaos.farm.keys).add(
      receiver.url(),
      ["completed", "failed"],
    );
    receiver.secret = subscription.secret;

    // Clients and kills at once; the kills go on while the tasks run and their webhooks go out.
    const plans = planSubmits(size, random);
    const answered: AnsweredSubmit[] = [];
    let next = 0;
    const client = async () => {
      while (next < plans.length) {
        const answer = await submitUntilAnswered(
          `http://127.0.0.1:${port}`,
          token,
          plans[next++] as PlannedSubmit,
          violations,
        );
        if (answer) answered.push(answer);
        await sleep(random.int(20, 150));
      }
    };
    let submitted = false;
    const clientsDone = Promise.all(Array.from({ length: size.clients }, client)).finally(() => {
      submitted = true;
    });
    const total = plans.reduce((sum, plan) => sum + plan.tasks.length, 0);
    let finished = false;
    const allDone = clientsDone.then(() => waitForAllFinished(chaos, [MODEL], total, size.finishMs));
    const markFinished = () => {
      finished = true;
    };
    void allDone.then(markFinished, markFinished);
    const kills = await killWhile(
      () => finished,
      () => !submitted,
      size,
      random,
      {
        killApi: async () => {
          await killApiProcess(apiProcess);
          await sleep(random.between(200, 800));
          apiProcess = startApiProcess(apiSpec);
          return untilApiUp(port);
        },
        killWorker: () => {
          const workers = fleet.workers();
          if (workers.length === 0) return false;
          random.pick(workers).kill("SIGKILL");
          return true;
        },
      },
      recoverMs,
    );
    await recordFailure(allDone, violations);
    await fleet.stop();

    // Exactly the tasks the clients were told about: each submit's own, none twice, none more.
    const toldIds = answered.flatMap((answer) => answer.taskIds);
    for (const answer of answered) {
      if (answer.taskIds.length !== answer.plan.tasks.length)
        violations.push(
          `submit ${answer.plan.index} was answered with ${answer.taskIds.length} of its ${answer.plan.tasks.length} tasks`,
        );
    }
    const doubledInAnswers = toldIds.length - new Set(toldIds).size;
    if (doubledInAnswers > 0) violations.push(`${doubledInAnswers} task ids were given to two submits`);
    const inFarm = await chaos.farm.redis.hkeys(chaos.farm.keys.taskIndex);
    const told = new Set(toldIds);
    const extra = inFarm.filter((id) => !told.has(id));
    if (extra.length > 0)
      violations.push(
        `${extra.length} tasks in the farm no client was told about: ${extra.slice(0, 5).join(", ")}`,
      );
    const expectations: TaskExpectation[] = answered.flatMap((answer) =>
      answer.taskIds.map((taskId, j) => ({
        taskId,
        outputSubDir: String(answer.plan.tasks[j]?.output_sub_dir),
        // A task whose worker was killed three times may end quarantined (see the sigkill scenario).
        outcome: ["completed", "quarantined"] as const,
        reason: /^quarantined: /,
      })),
    );
    const end = await checkTheEnd(chaos, expectations, violations);

    // Every completed/failed event of these tasks delivered at least once, or dead-lettered with its log.
    const events = (await new FarmEvents(chaos.farm.redis, chaos.farm.keys).after("0-0", 100_000)).filter(
      (event) => subscription.events.includes(event.type as "completed") && told.has(event.task_id),
    );
    const finishedTasks = new Set(events.map((event) => event.task_id));
    const silent = [...told].filter((id) => !finishedTasks.has(id));
    if (silent.length > 0)
      violations.push(
        `${silent.length} finished tasks left no completed/failed event: ${silent.slice(0, 5).join(", ")}`,
      );
    const deliveries = await settleDeliveries(
      chaos.farm,
      subscription.id,
      events.map((event) => `${event.id}.${subscription.id}`),
      (id) => receiver.received.has(id),
      size.settleMs,
    );
    for (const id of deliveries.open.slice(0, 10))
      violations.push(`delivery ${id} neither delivered nor dead-lettered`);
    if (deliveries.deadUnlogged.length > 0)
      violations.push(
        `${deliveries.deadUnlogged.length} dead-lettered deliveries have no 'dead' entry in their log`,
      );
    if (receiver.badSignatures > 0)
      violations.push(`${receiver.badSignatures} deliveries carried a bad signature`);

    const retried = answered.filter((answer) => answer.tries > 1);
    const damage = damageOf(end);
    return {
      id: "submit-kill",
      title: "API and workers killed during submits and webhook deliveries",
      trials: kills.api + kills.worker,
      tasks: total,
      faults: kills.api + kills.worker,
      lost: damage.lost + deliveries.open.length,
      duplicated: damage.duplicated + doubledInAnswers + extra.length,
      escaped: damage.escaped,
      recoverMs,
      recoveryMeaning: "from the restart of the killed API to its /healthz answering",
      violations,
      figures: [
        ["submits answered / planned", `${answered.length} / ${plans.length}`],
        [
          "submits retried before an answer came (keyed / named)",
          `${retried.filter((a) => a.plan.idempotencyKey).length} / ${retried.filter((a) => !a.plan.idempotencyKey).length}`,
        ],
        [
          "of which cut mid-request by the kill (keyed / named)",
          `${retried.filter((a) => a.cut && a.plan.idempotencyKey).length} / ${retried.filter((a) => a.cut && !a.plan.idempotencyKey).length}`,
        ],
        ["tasks told / in the farm", `${told.size} / ${inFarm.length}`],
        ["kills of the API / of workers", `${kills.api} / ${kills.worker}`],
        ["end states", endStates(end.accounting.states)],
        ["webhooks delivered / dead-lettered", `${receiver.received.size} / ${deliveries.dead.length}`],
        ["delivered more than once (at least once)", String(receiver.redelivered)],
        ["seed (CHAOS_SEED to replay)", String(random.seed)],
      ],
      method: [
        `${size.submits} submits of 1–3 tasks (model ${MODEL}) by ${size.clients} concurrent HTTP clients (20–150 ms between a client's submits) to the real \`wgp-farm api\`; every other submit carries an Idempotency-Key and no task_id, the rest name their tasks. A client retries (same body, same key) on a dropped connection or a 5xx until it gets an answer.`,
        `2 \`wgp-farm worker\` processes × 2 slots (engine-py, WanGP double) run the tasks meanwhile. Every 0.2–1 s, up to ${size.kills} times until every task has finished: SIGKILL to the API (restarted after 0.2–0.8 s; the first kill, and 7 in 10 while clients submit) or to a worker (restarted after 1 s).`,
        `One webhook subscription (completed, failed) to a receiver that answers 500 on ${Math.round(size.failRate * 100)} % of calls and checks each signature; backoff 1 s doubling to 2 s for 8 s, delivery lock 2 s.`,
      ],
      durationS: elapsed(),
    };
  } finally {
    await fleet.stop();
    await killApiProcess(apiProcess);
    receiver.close();
    await chaos.close(keepFiles(violations));
  }
}
