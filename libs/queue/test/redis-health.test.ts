import { temporaryDir, uniquePrefix } from "@wgp-farm/testing";
import { describe, expect, inject, it } from "vitest";
import {
  assessRedisForQueue,
  connectRedis,
  FarmKeys,
  HostRecords,
  hasHashTag,
  type RedisServerFacts,
  RedisServerProcess,
  readRedisFacts,
} from "../src/index.js";

function statusOf(findings: ReturnType<typeof assessRedisForQueue>, id: string) {
  return findings.find((finding) => finding.id === id)?.status;
}

const HEALTHY: RedisServerFacts = {
  version: "7.0.15",
  mode: "standalone",
  clusterEnabled: false,
  role: "master",
  connectedReplicas: 0,
  aofEnabled: true,
  aofHealthy: true,
  maxmemoryBytes: 0,
  maxmemoryPolicy: "noeviction",
  usedMemoryBytes: 1_000_000,
};

describe("Redis health", () => {
  it("reads a real server and flags the test run's Redis, which has AOF off", async () => {
    const url = inject("redisUrl");
    const redis = await connectRedis(url);
    try {
      const facts = await readRedisFacts(redis);
      expect(facts.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(facts).toMatchObject({ aofEnabled: false, maxmemoryPolicy: "noeviction", role: "master" });
      const findings = assessRedisForQueue(facts, { url, prefix: "wgp" });
      expect(statusOf(findings, "redis-persistence")).toBe("warn");
      expect(findings.find((f) => f.id === "redis-persistence")?.fix).toContain("appendonly yes");
      expect(statusOf(findings, "redis-eviction")).toBe("ok");
      expect(statusOf(findings, "redis-security")).toBe("ok");
    } finally {
      await redis.quit();
    }
  });

  it("passes a Redis with AOF on, and fails one that evicts keys under a memory limit", async () => {
    const data = await temporaryDir("redis-health");
    const server = await RedisServerProcess.start({ dataDir: data.dir, persistence: "aof" });
    const redis = await connectRedis(server.url);
    try {
      const good = assessRedisForQueue(await readRedisFacts(redis), { url: server.url, prefix: "wgp" });
      expect(good.filter((f) => f.status !== "ok")).toEqual([]);

      await redis.config("SET", "maxmemory", "64mb");
      await redis.config("SET", "maxmemory-policy", "allkeys-lru");
      const evicting = assessRedisForQueue(await readRedisFacts(redis), { url: server.url, prefix: "wgp" });
      expect(statusOf(evicting, "redis-eviction")).toBe("fail");
    } finally {
      await redis.quit();
      await server.stop();
      await data.remove();
    }
  });

  it("judges what one server cannot show here: old versions, replicas, Cluster prefixes, exposure", () => {
    const assess = (facts: Partial<RedisServerFacts>, url = "redis://127.0.0.1:6379", prefix = "wgp") =>
      assessRedisForQueue({ ...HEALTHY, ...facts }, { url, prefix });
    expect(statusOf(assess({ version: "4.0.14" }), "redis-version")).toBe("fail");
    expect(statusOf(assess({ version: "6.0.20" }), "redis-version")).toBe("warn");
    expect(statusOf(assess({ version: "6.2.0" }), "redis-version")).toBe("ok");
    expect(statusOf(assess({ role: "slave" }), "redis-role")).toBe("fail");
    expect(statusOf(assess({ aofHealthy: false }), "redis-persistence")).toBe("fail");
    expect(statusOf(assess({ maxmemoryPolicy: "volatile-lru" }), "redis-eviction")).toBe("warn");
    expect(statusOf(assess({ maxmemoryBytes: 100, usedMemoryBytes: 90 }), "redis-eviction")).toBe("warn");
    expect(statusOf(assess({}), "redis-cluster")).toBeUndefined();
    expect(statusOf(assess({ clusterEnabled: true }), "redis-cluster")).toBe("fail");
    expect(statusOf(assess({ clusterEnabled: true }, undefined, "{wgp}"), "redis-cluster")).toBe("ok");
    expect(statusOf(assess({}, "redis://10.1.2.3:6379"), "redis-security")).toBe("warn");
    expect(statusOf(assess({}, "rediss://:s3cret@redis.farm:6380"), "redis-security")).toBe("ok");
    expect(statusOf(assess({}, "redis+sentinel://10.0.0.1:26379,10.0.0.2/farm"), "redis-security")).toBe(
      "warn",
    );
    expect(statusOf(assess({}, "redis+sentinel://127.0.0.1:26379/farm"), "redis-security")).toBe("ok");
    expect(hasHashTag("{wgp}")).toBe(true);
    expect(hasHashTag("wgp{x}")).toBe(false);
  });

  it("keeps one record per host", async () => {
    const redis = await connectRedis(inject("redisUrl"));
    try {
      const records = new HostRecords(redis, new FarmKeys(uniquePrefix("health")));
      await records.write({ host: "a", checked_at: "2026-01-01T00:00:00Z", wangp_version: "12.59" });
      await records.write({ host: "a", checked_at: "2026-01-02T00:00:00Z", wangp_version: "12.60" });
      await records.write({ host: "b", checked_at: "2026-01-02T00:00:00Z" });
      const listed = await records.list();
      expect(listed.map((r) => [r.host, r.wangp_version])).toEqual([
        ["a", "12.60"],
        ["b", undefined],
      ]);
      expect(await records.forget("b")).toBe(true);
      expect((await records.list()).map((r) => r.host)).toEqual(["a"]);
      await redis.del(records.key);
    } finally {
      await redis.quit();
    }
  });
});
