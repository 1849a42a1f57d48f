/**
 * Events and webhooks of `wgp-farm api`: N concurrent SSE clients following the whole farm while
 * events are written to the event log (delivery latency p50/p99 from the event's write to each
 * client, the API's RSS, Redis connections of the API), then webhook deliveries per second to a local
 * receiver. The API runs as the real `wgp-farm api` process over a fresh private Redis.
 *
 *   node test/bench/events-bench.ts [--clients 1000] [--events 300] [--deliveries 2000]
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, get, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ApiKeys, ApiTokenStore, WebhookSubscriptions } from "@wgp-farm/api";
import { FarmConnection, FarmEvents, findFreePort, RedisServerProcess } from "@wgp-farm/queue";
import { percentile, printBenchResult } from "./bench-result.ts";

const CLI = fileURLToPath(new URL("../../apps/cli/bin/wgp-farm", import.meta.url));
const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "1000" },
    events: { type: "string", default: "300" },
    deliveries: { type: "string", default: "2000" },
  },
});
const clientCount = Number(values.clients);
const eventCount = Number(values.events);
const deliveryCount = Number(values.deliveries);
const PREFIX = "bench";

function rssMb(pid: number, field: "VmRSS" | "VmHWM" = "VmRSS"): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((entry) => entry.startsWith(`${field}:`));
  return Number(line?.split(/\s+/)[1]) / 1024;
}

/** One SSE follower over plain node:http: records, per event, the time from its write to here. */
function follow(url: string, token: string, latencies: number[]): Promise<IncomingMessage> {
  const opened = Promise.withResolvers<IncomingMessage>();
  const req = get(
    url,
    { headers: { Authorization: `Bearer ${token}`, Accept: "text/event-stream" } },
    (res) => {
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        const now = Date.now();
        for (const match of chunk.matchAll(/"at":"([^"]+)"/g))
          latencies.push(now - Date.parse(match[1] ?? ""));
      });
      opened.resolve(res);
    },
  );
  req.on("error", opened.reject);
  return opened.promise;
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), "wgp-events-bench-"));
  const redis = await RedisServerProcess.start({ dataDir: path.join(work, "redis"), persistence: "none" });
  const farm = await FarmConnection.open(redis.url, PREFIX);
  const port = await findFreePort();
  const api = spawn(CLI, ["api", "--redis-url", redis.url, "--prefix", PREFIX, "--port", String(port)], {
    env: {
      ...process.env,
      WGP_FARM_API_OUTPUT_ROOT: work,
      WGP_FARM_API_INPUTS_DIR: work,
      WGP_FARM_WEBHOOK_ALLOW_PRIVATE: "1",
      WGP_FARM_LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const base = `http://127.0.0.1:${port}`;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received += 1;
      if (received === deliveryCount) allDelivered.resolve();
      res.statusCode = 204;
      res.end();
    });
  });
  let received = 0;
  const allDelivered = Promise.withResolvers<void>();
  const responses: IncomingMessage[] = [];
  try {
    for (let i = 0; ; i += 1) {
      const up = await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      if (i > 200) throw new Error("the API did not start");
      await sleep(100);
    }
    const token = (await new ApiTokenStore(farm.redis, new ApiKeys(PREFIX)).create("bench", ["admin"])).token;
    const connectionsBefore = Number(
      (await farm.redis.info("clients")).match(/connected_clients:(\d+)/)?.[1],
    );
    const idleRss = rssMb(api.pid ?? 0);

    // 1. N followers.
    const latencies: number[] = [];
    for (let i = 0; i < clientCount; i += 50) {
      const batch = Array.from({ length: Math.min(50, clientCount - i) }, () =>
        follow(`${base}/v1/events`, token, latencies),
      );
      responses.push(...(await Promise.all(batch)));
    }
    const followedRss = rssMb(api.pid ?? 0);
    const connectionsWith = Number((await farm.redis.info("clients")).match(/connected_clients:(\d+)/)?.[1]);
    const log = new FarmEvents(farm.redis, farm.keys);
    const writtenAt = performance.now();
    for (let i = 0; i < eventCount; i += 1) {
      await log.record({
        type: "progress",
        task_id: `t-${i % 50}`,
        model: "t2v",
        slot: `gpu${i % 8}@bench`,
        host: "bench",
        data: { percent: i % 100 },
      });
      await sleep(1000 / 50);
    }
    const expected = clientCount * eventCount;
    const deadline = Date.now() + 60_000;
    while (latencies.length < expected && Date.now() < deadline) await sleep(50);
    const followSeconds = (performance.now() - writtenAt) / 1000;
    const peakRss = rssMb(api.pid ?? 0, "VmHWM");
    for (const res of responses) res.destroy();

    // 2. Webhook deliveries per second.
    const listening = Promise.withResolvers<void>();
    receiver.listen(0, "127.0.0.1", () => listening.resolve());
    await listening.promise;
    const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    await new WebhookSubscriptions(farm.redis, farm.keys).add(hookUrl, ["completed"]);
    const started = performance.now();
    for (let i = 0; i < deliveryCount; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, deliveryCount - i) }, (_, j) =>
          log.record({ type: "completed", task_id: `d-${i + j}`, model: "t2v" }),
        ),
      );
    }
    await Promise.race([allDelivered.promise, sleep(120_000, undefined, { ref: false })]);
    const deliverySeconds = (performance.now() - started) / 1000;

    const p50 = percentile(latencies, 0.5);
    const p99 = percentile(latencies, 0.99);
    printBenchResult({
      title: `Events: ${clientCount.toLocaleString("en-US")} SSE clients, webhook deliveries`,
      method: `The real \`wgp-farm api\` over a private redis-server. ${clientCount} SSE clients (node:http, in the bench process, on the same 2-core machine) follow the whole farm while ${eventCount} events are written at 50/s; latency is from the event's timestamp (set just before XADD) to its arrival at each client, over all ${expected.toLocaleString("en-US")} (client, event) pairs. Then one subscription to a local receiver (204) and ${deliveryCount} events written in batches of 100: deliveries per second from the first write to the last delivery.`,
      rows: [
        {
          measure: "events received / expected",
          value: `${latencies.length.toLocaleString("en-US")} / ${expected.toLocaleString("en-US")}`,
          pass: latencies.length >= expected,
        },
        { measure: "SSE delivery latency p50", value: `${p50.toFixed(0)} ms` },
        { measure: "SSE delivery latency p99", value: `${p99.toFixed(0)} ms` },
        {
          measure: "API RSS idle / with clients / peak",
          value: `${idleRss.toFixed(0)} / ${followedRss.toFixed(0)} / ${peakRss.toFixed(0)} MB`,
        },
        {
          measure: "Redis connections added by the clients",
          value: `${connectionsWith - connectionsBefore}`,
          target: "0",
          pass: connectionsWith - connectionsBefore === 0,
        },
        {
          measure: "webhook deliveries",
          value: `${received} of ${deliveryCount}`,
          pass: received === deliveryCount,
        },
        { measure: "webhook deliveries per second", value: `${Math.round(received / deliverySeconds)} /s` },
      ],
      details: { followSeconds, deliverySeconds, p50, p99, idleRss, followedRss, peakRss },
    });
  } finally {
    for (const res of responses) res.destroy();
    receiver.closeAllConnections();
    receiver.close();
    api.kill("SIGTERM");
    await new Promise((resolve) => api.once("exit", resolve));
    await farm.close();
    await redis.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
