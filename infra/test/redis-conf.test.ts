import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { assessRedisForQueue, connectRedis, findFreePort, readRedisFacts } from "@wgp-farm/queue";
import { temporaryDir } from "@wgp-farm/testing";
import { describe, expect, it } from "vitest";
import { infraFile } from "./infra-files.js";

const PASSWORD = "test-password-for-redis-conf";

/** redis-server on infra/redis/redis.conf, overridden only where compose.yaml overrides it. */
async function startWithConf(dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await findFreePort();
  const child = spawn(
    "redis-server",
    [infraFile("redis/redis.conf"), "--port", String(port), "--dir", dataDir, "--requirepass", PASSWORD],
    { stdio: "ignore" },
  );
  const url = `redis://:${PASSWORD}@127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    try {
      const probe = await connectRedis(url, { timeoutMs: 500 });
      await probe.quit();
      return { url, child };
    } catch (error) {
      if (attempt > 100 || child.exitCode !== null) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe("infra/redis/redis.conf", () => {
  it("starts a Redis that wants a password and is fit for the queues by wgp-farm doctor's measure", async () => {
    const data = await temporaryDir("redis-conf");
    const { url, child } = await startWithConf(data.dir);
    try {
      await expect(connectRedis(url.replace(`:${PASSWORD}@`, ""))).rejects.toThrow(/NOAUTH/);

      const redis = await connectRedis(url);
      expect(await redis.config("GET", "appendfsync")).toEqual(["appendfsync", "everysec"]);
      expect(await redis.config("GET", "protected-mode")).toEqual(["protected-mode", "yes"]);
      const findings = assessRedisForQueue(await readRedisFacts(redis), { url, prefix: "wgp" });
      expect(findings.filter((finding) => finding.status !== "ok")).toEqual([]);
      expect(findings.map((finding) => finding.id)).toEqual(
        expect.arrayContaining(["redis-persistence", "redis-eviction", "redis-version"]),
      );
      await redis.quit();
    } finally {
      child.kill("SIGTERM");
      await once(child, "exit");
      await data.remove();
    }
  });

  it("ships the change-me placeholder, never a real password", async () => {
    const text = await readFile(infraFile("redis/redis.conf"), "utf8");
    expect(text).toMatch(/^requirepass CHANGE-ME/m);
    expect(text).toMatch(/^appendonly yes$/m);
    expect(text).toMatch(/^maxmemory-policy noeviction$/m);
    expect(text).toContain("{wgp}");
  });
});
