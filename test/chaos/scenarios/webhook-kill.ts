/**
 * `wgp-farm api` killed (SIGKILL) again and again while it dispatches and delivers webhooks: a flaky
 * receiver (500 on a share of calls, checking every signature) and a target that never answers
 * (connection refused). Every event written must stay in the log; every delivery to the flaky
 * receiver must arrive at least once or be dead-lettered with its log; every delivery to the dead
 * target must end dead-lettered with its log. Redeliveries (at least once) are counted, not failed.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { WebhookSubscriptions } from "@wgp-farm/api";
import { FarmConnection, FarmEvents, findFreePort, RedisServerProcess } from "@wgp-farm/queue";
import { killApiProcess, startApiProcess, untilApiUp } from "../harness/api-process.ts";
import { seededRandom } from "../harness/random.ts";
import { type Scale, type ScenarioResult, startClock } from "../harness/scenario-result.ts";
import { settleDeliveries, WebhookReceiver } from "../harness/webhook-receiver.ts";

const SIZES: Record<Scale, { events: number; kills: number; failRate: number; settleMs: number }> = {
  short: { events: 120, kills: 2, failRate: 0.3, settleMs: 60_000 },
  full: { events: 1_000, kills: 6, failRate: 0.3, settleMs: 180_000 },
};
const PREFIX = "chaos-hooks";

export async function webhookKillScenario(scale: Scale): Promise<ScenarioResult> {
  const size = SIZES[scale];
  const random = seededRandom();
  const elapsed = startClock();
  const violations: string[] = [];
  const dir = await mkdtemp(path.join(tmpdir(), "wgp-chaos-hooks-"));
  const redis = await RedisServerProcess.start({ dataDir: path.join(dir, "redis"), persistence: "none" });
  const farm = await FarmConnection.open(redis.url, PREFIX);
  const subscriptions = new WebhookSubscriptions(farm.redis, farm.keys);
  const receiver = await WebhookReceiver.start(size.failRate, random);
  const deadPort = await findFreePort();
  const port = await findFreePort();
  const apiSpec = { redisUrl: redis.url, prefix: PREFIX, port, dir };
  let api = startApiProcess(apiSpec);
  const recoverMs: number[] = [];
  try {
    await untilApiUp(port);
    const flaky = await subscriptions.add(receiver.url(), ["completed", "failed"]);
    receiver.secret = flaky.secret;
    const dead = await subscriptions.add(`http://127.0.0.1:${deadPort}/never`, ["failed"]);
    const log = new FarmEvents(farm.redis, farm.keys);
    const killAt = new Set(
      Array.from({ length: size.kills }, (_, k) => Math.floor(((k + 1) * size.events) / (size.kills + 1))),
    );
    for (let i = 0; i < size.events; i += 1) {
      const type = i % 10 === 0 ? "failed" : "completed";
      await log.record({ type, task_id: `hook-${i}`, model: "t2v", data: { i } });
      await sleep(random.int(2, 15));
      if (killAt.has(i)) {
        await killApiProcess(api);
        await sleep(random.int(200, 1_000));
        api = startApiProcess(apiSpec);
        recoverMs.push(await untilApiUp(port));
      }
    }
    const events = await log.after("0-0", size.events + 10);
    if (events.length !== size.events)
      violations.push(`the log holds ${events.length} of ${size.events} events`);
    const failedEvents = events.filter((event) => event.type === "failed");
    const settleStarted = Date.now();
    const toFlaky = await settleDeliveries(
      farm,
      flaky.id,
      events.map((event) => `${event.id}.${flaky.id}`),
      (id) => receiver.received.has(id),
      size.settleMs,
    );
    const toDead = await settleDeliveries(
      farm,
      dead.id,
      failedEvents.map((event) => `${event.id}.${dead.id}`),
      () => false,
      Math.max(1_000, size.settleMs - (Date.now() - settleStarted)),
    );
    const open = [...toFlaky.open, ...toDead.open];
    for (const id of open.slice(0, 10)) violations.push(`delivery ${id} neither delivered nor dead-lettered`);
    // The flaky target's log (capped) may have dropped old entries at the full size: only the dead
    // target's dead letters are checked against it.
    if (toDead.deadUnlogged.length > 0)
      violations.push(
        `${toDead.deadUnlogged.length} dead-lettered deliveries have no 'dead' entry in their log`,
      );
    if (receiver.badSignatures > 0)
      violations.push(`${receiver.badSignatures} deliveries carried a bad signature`);
    const unlogged = toDead.deadUnlogged;
    return {
      id: "webhook-kill",
      title: "API killed during webhook deliveries",
      trials: size.kills,
      tasks: size.events,
      faults: size.kills,
      lost: open.length,
      duplicated: 0,
      escaped: 0,
      recoverMs,
      recoveryMeaning: "from the restart of the killed API to its /healthz answering",
      violations,
      figures: [
        ["events written / in the log", `${size.events} / ${events.length}`],
        ["flaky receiver: delivered / dead-lettered", `${receiver.received.size} / ${toFlaky.dead.length}`],
        ["delivered more than once (at least once)", String(receiver.redelivered)],
        [
          "dead target: dead-lettered with log",
          `${failedEvents.length - unlogged.length} / ${failedEvents.length}`,
        ],
      ],
      method: [
        `${size.events} events (1 in 10 'failed') written to the farm's event log while \`wgp-farm api\` is SIGKILLed ${size.kills} times and restarted`,
        `a receiver answering 500 on ${Math.round(size.failRate * 100)} % of calls and checking each signature; a second subscription to a closed port`,
        "backoff 1 s doubling to 2 s for 8 s, delivery lock 2 s (so a killed API's deliveries are taken up again)",
      ],
      durationS: elapsed(),
    };
  } finally {
    await killApiProcess(api);
    receiver.close();
    await farm.close();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
