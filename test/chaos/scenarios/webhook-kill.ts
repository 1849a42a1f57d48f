/**
 * `wgp-farm api` killed (SIGKILL) again and again while it dispatches and delivers webhooks: a flaky
 * receiver (500 on a share of calls, checking every signature) and a target that never answers
 * (connection refused). Every event written must stay in the log; every delivery to the flaky
 * receiver must arrive at least once or be dead-lettered with its log; every delivery to the dead
 * target must end dead-lettered with its log. Redeliveries (at least once) are counted, not failed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac, timingSafeEqual } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DeliveryLog, WebhookSubscriptions, webhookQueueOf } from "@wgp-farm/api";
import { FarmConnection, FarmEvents, findFreePort, RedisServerProcess } from "@wgp-farm/queue";
import { WGP_FARM_BIN } from "../harness/paths.ts";
import { seededRandom } from "../harness/random.ts";
import { type Scale, type ScenarioResult, startClock } from "../harness/scenario-result.ts";

const SIZES: Record<Scale, { events: number; kills: number; failRate: number; settleMs: number }> = {
  short: { events: 120, kills: 2, failRate: 0.3, settleMs: 60_000 },
  full: { events: 1_000, kills: 6, failRate: 0.3, settleMs: 180_000 },
};
const PREFIX = "chaos-hooks";

function startApi(redisUrl: string, port: number, dir: string): ChildProcess {
  return spawn(WGP_FARM_BIN, ["api", "--redis-url", redisUrl, "--prefix", PREFIX, "--port", String(port)], {
    env: {
      ...process.env,
      WGP_FARM_API_OUTPUT_ROOT: dir,
      WGP_FARM_API_INPUTS_DIR: dir,
      WGP_FARM_WEBHOOK_ALLOW_PRIVATE: "1",
      WGP_FARM_WEBHOOK_MIN_BACKOFF: "1",
      WGP_FARM_WEBHOOK_MAX_BACKOFF: "2",
      WGP_FARM_WEBHOOK_RETRY_FOR: "8",
      WGP_FARM_WEBHOOK_TIMEOUT: "2",
      WGP_FARM_WEBHOOK_LOCK: "2",
      WGP_FARM_LOG_LEVEL: "error",
    },
    stdio: ["ignore", "ignore", "ignore"],
  });
}

async function untilUp(port: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < 300; i += 1) {
    const up = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (res) => res.ok,
      () => false,
    );
    if (up) return performance.now() - started;
    await sleep(50);
  }
  throw new Error("the API did not come back");
}

export async function webhookKillScenario(scale: Scale): Promise<ScenarioResult> {
  const size = SIZES[scale];
  const random = seededRandom();
  const elapsed = startClock();
  const violations: string[] = [];
  const dir = await mkdtemp(path.join(tmpdir(), "wgp-chaos-hooks-"));
  const redis = await RedisServerProcess.start({ dataDir: path.join(dir, "redis"), persistence: "none" });
  const farm = await FarmConnection.open(redis.url, PREFIX);
  const subscriptions = new WebhookSubscriptions(farm.redis, farm.keys);
  const received = new Map<string, number>();
  let badSignatures = 0;
  let secret = "";
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const id = String(req.headers["webhook-id"]);
      const signed = `${id}.${req.headers["webhook-timestamp"]}.${Buffer.concat(chunks).toString("utf8")}`;
      const mac = createHmac("sha256", Buffer.from(secret.slice("whsec_".length), "base64")).update(signed);
      const expected = Buffer.from(`v1,${mac.digest("base64")}`);
      const given = Buffer.from(String(req.headers["webhook-signature"]));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) badSignatures += 1;
      if (random.chance(size.failRate)) {
        res.statusCode = 500;
      } else {
        received.set(id, (received.get(id) ?? 0) + 1);
        res.statusCode = 204;
      }
      res.end();
    });
  });
  const listening = Promise.withResolvers<void>();
  receiver.listen(0, "127.0.0.1", () => listening.resolve());
  await listening.promise;
  const deadPort = await findFreePort();
  const port = await findFreePort();
  let api = startApi(redis.url, port, dir);
  const recoverMs: number[] = [];
  try {
    await untilUp(port);
    const flaky = await subscriptions.add(`http://127.0.0.1:${(receiver.address() as AddressInfo).port}/h`, [
      "completed",
      "failed",
    ]);
    secret = flaky.secret;
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
        api.kill("SIGKILL");
        await new Promise((resolve) => api.once("exit", resolve));
        await sleep(random.int(200, 1_000));
        api = startApi(redis.url, port, dir);
        recoverMs.push(await untilUp(port));
      }
    }
    const events = await log.after("0-0", size.events + 10);
    if (events.length !== size.events)
      violations.push(`the log holds ${events.length} of ${size.events} events`);
    const deliveries = new DeliveryLog(farm.redis, farm.keys);
    const queue = webhookQueueOf(farm);
    const failedEvents = events.filter((event) => event.type === "failed");
    let open: string[] = [];
    const deadline = Date.now() + size.settleMs;
    try {
      do {
        await sleep(500);
        open = [];
        for (const event of events) {
          const id = `${event.id}.${flaky.id}`;
          if (!received.has(id) && (await queue.getJobState(id)) !== "failed") open.push(id);
        }
        for (const event of failedEvents) {
          if ((await queue.getJobState(`${event.id}.${dead.id}`)) !== "failed")
            open.push(`${event.id}.${dead.id}`);
        }
      } while (open.length > 0 && Date.now() < deadline);
    } finally {
      await queue.close();
    }
    for (const id of open.slice(0, 10)) violations.push(`delivery ${id} neither delivered nor dead-lettered`);
    const deadLog = new Set(
      (await deliveries.list(dead.id)).filter((e) => e.outcome === "dead").map((e) => e.delivery_id),
    );
    const flakyDead = new Set(
      (await deliveries.list(flaky.id)).filter((e) => e.outcome === "dead").map((e) => e.delivery_id),
    );
    const unlogged = failedEvents.filter((event) => !deadLog.has(`${event.id}.${dead.id}`));
    if (unlogged.length > 0)
      violations.push(`${unlogged.length} dead-lettered deliveries have no 'dead' entry in their log`);
    if (badSignatures > 0) violations.push(`${badSignatures} deliveries carried a bad signature`);
    const redelivered = [...received.values()].filter((count) => count > 1).length;
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
        ["flaky receiver: delivered / dead-lettered", `${received.size} / ${flakyDead.size}`],
        ["delivered more than once (at least once)", String(redelivered)],
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
    api.kill("SIGKILL");
    receiver.closeAllConnections();
    receiver.close();
    await farm.close();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
