/**
 * Submit throughput of `wgp-farm api` against `wgp-farm import-tasks`, in one run over one private
 * Redis and with the same generated tasks: the import of N tasks from a file, then N tasks submitted
 * over HTTP one per request, then N in batches. Per request latency p50/p99; the API's RSS.
 *
 *   node test/bench/submit-bench.ts [--tasks 10000] [--batch 1000] [--clients 8]
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ApiKeys, ApiTokenStore } from "@wgp-farm/api";
import { FarmConnection, findFreePort, RedisServerProcess } from "@wgp-farm/queue";
import { execa, type ResultPromise } from "execa";
import { percentile, printBenchResult } from "./bench-result.ts";
import { benchTask, writeTaskFile } from "./bench-tasks.ts";

const CLI = fileURLToPath(new URL("../../apps/cli/bin/wgp-farm", import.meta.url));
const { values } = parseArgs({
  options: {
    tasks: { type: "string", default: "10000" },
    batch: { type: "string", default: "1000" },
    clients: { type: "string", default: "8" },
  },
});
const taskCount = Number(values.tasks);
const batchSize = Number(values.batch);
const clientCount = Number(values.clients);
const API_PREFIX = "bench-api";

/** How one way of submitting did: tasks per second over the whole run, and each request's time. */
interface SubmitRun {
  seconds: number;
  latenciesMs: number[];
}

function rssMb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((entry) => entry.startsWith(`${field}:`));
  return Number(line?.split(/\s+/)[1]) / 1024;
}

async function timedImport(file: string, redisUrl: string): Promise<number> {
  const started = performance.now();
  await execa(CLI, ["import-tasks", file, "--redis-url", redisUrl, "--prefix", "bench-import"], {
    stdout: "ignore",
    stderr: "inherit",
  });
  return (performance.now() - started) / 1000;
}

function startApi(redisUrl: string, port: number, dir: string): ResultPromise {
  return execa(CLI, ["api", "--redis-url", redisUrl, "--prefix", API_PREFIX, "--port", String(port)], {
    env: {
      WGP_FARM_API_OUTPUT_ROOT: dir,
      WGP_FARM_API_INPUTS_DIR: dir,
      WGP_FARM_API_MAX_BATCH: String(batchSize),
      WGP_FARM_API_MAX_BODY_BYTES: String(4 * 1024 * 1024),
      // The bench measures the submit path, not the token's limits.
      WGP_FARM_API_SUBMIT_RATE: "100000000",
      WGP_FARM_API_MAX_IN_FLIGHT: "100000000",
      WGP_FARM_LOG_LEVEL: "warn",
    },
    stdout: "ignore",
    stderr: "inherit",
    reject: false,
  });
}

async function untilUp(base: string): Promise<void> {
  for (let i = 0; i < 300; i += 1) {
    const up = await fetch(`${base}/healthz`).then(
      (res) => res.ok,
      () => false,
    );
    if (up) return;
    await sleep(100);
  }
  throw new Error("the API did not start");
}

/**
 * Sends the bodies over `clientCount` concurrent clients (each waits for its answer before its next
 * request); every answer must be a 201.
 */
async function submitAll(base: string, token: string, bodies: readonly string[]): Promise<SubmitRun> {
  const latenciesMs: number[] = [];
  let next = 0;
  const client = async () => {
    while (next < bodies.length) {
      const body = bodies[next++] as string;
      const sent = performance.now();
      const res = await fetch(`${base}/v1/tasks`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body,
      });
      const text = await res.text();
      latenciesMs.push(performance.now() - sent);
      if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${text.slice(0, 500)}`);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: clientCount }, client));
  return { seconds: (performance.now() - started) / 1000, latenciesMs };
}

function singleBodies(idPrefix: string): string[] {
  return Array.from({ length: taskCount }, (_, i) => JSON.stringify(benchTask(i, idPrefix)));
}

function batchBodies(idPrefix: string): string[] {
  const bodies: string[] = [];
  for (let from = 0; from < taskCount; from += batchSize) {
    const tasks = Array.from({ length: Math.min(batchSize, taskCount - from) }, (_, j) =>
      benchTask(from + j, idPrefix),
    );
    bodies.push(JSON.stringify({ tasks }));
  }
  return bodies;
}

const rate = (seconds: number) => Math.round(taskCount / seconds);
const ms = (value: number) => `${value.toFixed(value < 10 ? 1 : 0)} ms`;

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), "wgp-submit-bench-"));
  const redis = await RedisServerProcess.start({ dataDir: path.join(work, "redis"), persistence: "none" });
  const farm = await FarmConnection.open(redis.url, API_PREFIX);
  const port = await findFreePort();
  let api: ResultPromise | undefined;
  try {
    const file = path.join(work, "tasks.json");
    await writeTaskFile(file, taskCount, "import");
    const importSeconds = await timedImport(file, redis.url);

    // Started after the import, so that its start does not share the CPU with it.
    api = startApi(redis.url, port, work);
    const base = `http://127.0.0.1:${port}`;
    await untilUp(base);
    const token = (await new ApiTokenStore(farm.redis, new ApiKeys(API_PREFIX)).create("bench", ["submit"]))
      .token;
    const batched = await submitAll(base, token, batchBodies("batch"));
    const single = await submitAll(base, token, singleBodies("single"));
    const apiRss = rssMb(api.pid ?? 0, "VmHWM");

    const ratio = importSeconds / batched.seconds;
    printBenchResult({
      title: `Submit over HTTP: ${taskCount.toLocaleString("en-US")} tasks, single and batched, against import-tasks`,
      method: `One private redis-server, the same ${taskCount.toLocaleString("en-US")} generated tasks (as the import benchmark's) three times under three id prefixes: \`wgp-farm import-tasks\` of a JSON file (the CLI process's whole run), then the real \`wgp-farm api\` with ${clientCount} concurrent clients (fetch, in the bench process, on the same machine; each sends its next request when its answer came), first in batches of ${batchSize} (\`{"tasks": […]}\`), then one task per request. Rates are tasks over the wall time of each way; latency is per request, from send to the whole answer. Every answer must be a 201.`,
      rows: [
        {
          measure: "import-tasks throughput",
          value: `${rate(importSeconds).toLocaleString("en-US")} tasks/s`,
        },
        {
          measure: `batched submit throughput (${batchSize} per request)`,
          value: `${rate(batched.seconds).toLocaleString("en-US")} tasks/s`,
        },
        {
          measure: "batched submit / import-tasks",
          value: ratio.toFixed(2),
          target: "≥ 0.5",
          pass: ratio >= 0.5,
        },
        {
          measure: "batched submit latency p50 / p99",
          value: `${ms(percentile(batched.latenciesMs, 0.5))} / ${ms(percentile(batched.latenciesMs, 0.99))}`,
        },
        {
          measure: "single submit throughput",
          value: `${rate(single.seconds).toLocaleString("en-US")} tasks/s`,
        },
        {
          measure: "single submit latency p50 / p99",
          value: `${ms(percentile(single.latenciesMs, 0.5))} / ${ms(percentile(single.latenciesMs, 0.99))}`,
        },
        { measure: "API peak RSS", value: `${apiRss.toFixed(0)} MB` },
      ],
      details: {
        importSeconds,
        batchedSeconds: batched.seconds,
        singleSeconds: single.seconds,
        batchedP50: percentile(batched.latenciesMs, 0.5),
        batchedP99: percentile(batched.latenciesMs, 0.99),
        singleP50: percentile(single.latenciesMs, 0.5),
        singleP99: percentile(single.latenciesMs, 0.99),
        apiRss,
      },
    });
  } finally {
    api?.kill("SIGTERM");
    await api;
    await farm.close();
    await redis.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
