import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { connectRedis, findFreePort, RedisServerProcess } from "@wgp-farm/queue";
import { copyOfFakeWangp, readJsonLines, temporaryDir, uniquePrefix, waitUntil } from "@wgp-farm/testing";
import { afterEach, describe, expect, inject, it } from "vitest";
import { type CliProcess, exitOf, isRunning, killProcessGroup, startCollecting } from "./run-cli.js";

const children: CliProcess[] = [];
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (isRunning(child)) killProcessGroup(child);
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A started CLI process with its stderr (JSON log lines) collected and its exit awaitable. */
function started(args: string[], options: Parameters<typeof startCollecting>[1] = {}) {
  const { child, stdout, stderr } = startCollecting(args, { ownProcessGroup: true, ...options });
  children.push(child);
  const exited = exitOf(child);
  /** Log lines whose message starts with `msg`. */
  const logged = (msg: string) =>
    stderr()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => String(line.msg).startsWith(msg));
  return { child, exited, stdout, stderr, logged };
}

async function healthStatus(base: string): Promise<number | undefined> {
  const response = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(3_000) }).catch(
    () => undefined,
  );
  return response?.status;
}

async function answers(url: string): Promise<boolean> {
  try {
    const client = await connectRedis(url, { timeoutMs: 1_000 });
    client.disconnect();
    return true;
  } catch {
    return false;
  }
}

/** How long after SIGTERM a process with its Redis gone must have exited (docs/operations.md). */
const EXIT_BOUND_MS: Record<string, number> = { dashboard: 5_000, watch: 5_000, worker: 10_000 };

type Started = ReturnType<typeof started>;

/** The long-running commands, each started on `redisUrl` and ready when `isReady` says so. */
const SERVICES: Record<
  string,
  { start: (redisUrl: string, dir: string) => Started; isReady: (p: Started) => boolean }
> = {
  dashboard: {
    start: (redisUrl) =>
      started(["dashboard", "--port", "0", "--redis-url", redisUrl, "--prefix", uniquePrefix("out")]),
    isReady: (p) => p.stdout().includes("Dashboard: "),
  },
  watch: {
    start: (redisUrl, dir) =>
      started([
        "watch",
        "--tasks-file",
        path.join(dir, "tasks.json"),
        "--redis-url",
        redisUrl,
        "--prefix",
        uniquePrefix("out"),
      ]),
    isReady: (p) => p.logged("watching ").length > 0,
  },
  worker: {
    start: (redisUrl, dir) =>
      started([
        "worker",
        "--engine",
        "dry-run",
        "--slots",
        "1",
        "--name",
        "outage",
        "--main-output-dir",
        path.join(dir, "out"),
        "--state-dir",
        path.join(dir, "state"),
        "--redis-url",
        redisUrl,
        "--prefix",
        uniquePrefix("out"),
      ]),
    isReady: (p) => p.logged("worker started; waiting for jobs").length > 0,
  },
};

describe("a Redis that goes away under a running process", () => {
  for (const [name, service] of Object.entries(SERVICES)) {
    it(`${name}: one line when it goes, one when it is back, no stacks; SIGTERM with Redis gone still exits in time`, async () => {
      const data = await temporaryDir(`outage-${name}`);
      cleanups.push(data.remove);
      let redis = await RedisServerProcess.start({
        dataDir: path.join(data.dir, "redis"),
        persistence: "none",
      });
      cleanups.push(() => redis.stop());
      const proc = service.start(redis.url, data.dir);
      await waitUntil(() => service.isReady(proc), 30_000);

      await redis.kill();
      // Several reconnect attempts of every connection fail meanwhile.
      await sleep(2_500);
      redis = await RedisServerProcess.start({
        dataDir: path.join(data.dir, "redis"),
        persistence: "none",
        port: redis.port,
      });
      await waitUntil(() => proc.logged("Redis reachable again").length > 0, 15_000);

      await redis.kill();
      await waitUntil(() => proc.logged("Redis unreachable").length === 2, 10_000);
      await sleep(1_000);
      const signalled = Date.now();
      proc.child.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
      expect(Date.now() - signalled).toBeLessThan(EXIT_BOUND_MS[name] as number);

      expect(proc.logged("Redis unreachable; reconnecting")).toHaveLength(2);
      expect(proc.logged("Redis reachable again")).toHaveLength(1);
      expect(proc.stderr()).not.toContain("Unhandled error event");
      expect(proc.stderr()).not.toMatch(/^\s+at /m);
    });
  }

  it("dashboard: /healthz says 503 while Redis is unreachable, 200 once it is back", async () => {
    const data = await temporaryDir("dashboard-health");
    cleanups.push(data.remove);
    let redis = await RedisServerProcess.start({ dataDir: data.dir, persistence: "none" });
    cleanups.push(() => redis.stop());
    const port = await findFreePort();
    const base = `http://127.0.0.1:${port}`;
    const dashboard = started([
      "dashboard",
      "--port",
      String(port),
      "--redis-url",
      redis.url,
      "--prefix",
      uniquePrefix("h"),
    ]);
    await waitUntil(() => dashboard.stdout().includes("Dashboard: "), 20_000);
    expect(await healthStatus(base)).toBe(200);
    await redis.kill();
    await waitUntil(async () => (await healthStatus(base)) === 503, 10_000);
    redis = await RedisServerProcess.start({ dataDir: data.dir, persistence: "none", port: redis.port });
    await waitUntil(async () => (await healthStatus(base)) === 200, 15_000);
  });
});

describe("SIGHUP (a closed terminal, a dropped SSH session)", () => {
  it("stops `dashboard` and `worker` as SIGTERM does", async () => {
    const box = await temporaryDir("sighup-services");
    cleanups.push(box.remove);
    const prefix = uniquePrefix("sighup");
    const redisArgs = ["--redis-url", inject("redisUrl"), "--prefix", prefix];
    const dashboard = started(["dashboard", "--port", "0", ...redisArgs]);
    const worker = started([
      "worker",
      "--engine",
      "dry-run",
      "--slots",
      "1",
      "--name",
      "sighup",
      "--main-output-dir",
      path.join(box.dir, "out"),
      "--state-dir",
      path.join(box.dir, "state"),
      ...redisArgs,
    ]);
    await waitUntil(() => dashboard.stdout().includes("Dashboard: "), 20_000);
    await waitUntil(() => worker.logged("worker started; waiting for jobs").length > 0, 30_000);
    for (const each of [dashboard, worker]) process.kill(-(each.child.pid as number), "SIGHUP");
    expect(await dashboard.exited).toBe(0);
    expect(await worker.exited).toBe(0);
    expect(worker.logged("worker stopped")).toHaveLength(1);
  });

  it("lets `headless` drain its running tasks, then stop its engines and its private Redis", async () => {
    const box = await temporaryDir("sighup-headless");
    cleanups.push(box.remove);
    const wangp = await copyOfFakeWangp(box.dir);
    const outputDir = path.join(box.dir, "out");
    const record = path.join(box.dir, "record.jsonl");
    const tasks = Array.from({ length: 6 }, (_, i) => ({
      task_id: `hup-${i}`,
      prompt: `scene ${i}`,
      model: "t2v_1.3B",
      steps: 10,
    }));
    await writeFile(path.join(box.dir, "tasks.json"), JSON.stringify(tasks));
    const headless = started(
      [
        "headless",
        "--tasks-file",
        path.join(box.dir, "tasks.json"),
        "--main-output-dir",
        outputDir,
        "--poll-interval",
        "1",
        "--wangp-root",
        wangp,
        "--slots",
        "2",
        "--drain-timeout",
        "60",
        "--prefix",
        uniquePrefix("hup"),
      ],
      { cwd: box.dir, env: { FAKE_WANGP_RECORD: record, FAKE_WANGP_STEP_S: "0.1", REDIS_URL: "" } },
    );
    const submitted = async () =>
      (await readJsonLines<{ event: string; id?: string }>(record))
        .filter((entry) => entry.event === "submit")
        .map((entry) => entry.id);
    await waitUntil(async () => (await submitted()).length > 0, 60_000);
    const privateRedis = headless.logged("headless")[0]?.redis as string;
    expect(privateRedis).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);

    // As the shell of a closed terminal does: SIGHUP to the job's process group (CLI and engines).
    process.kill(-(headless.child.pid as number), "SIGHUP");
    expect(await headless.exited).toBe(0);

    // Every task an engine had begun was finished (the drain), none was cut off.
    const results = await readdir(outputDir);
    for (const id of await submitted()) expect(results).toContain(id);
    expect(await answers(privateRedis)).toBe(false);
    // Nothing of the job's process group is left (engines included).
    expect(() => process.kill(-(headless.child.pid as number), 0)).toThrow();
  });
});
