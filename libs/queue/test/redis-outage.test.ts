import { setTimeout as sleep } from "node:timers/promises";
import { temporaryDir, waitUntil } from "@wgp-farm/testing";
import { Queue } from "bullmq";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import {
  connectRedis,
  isSentinelUrl,
  parseSentinelUrl,
  RedisServerProcess,
  redactRedisUrl,
  redisErrorListener,
  redisIsDown,
  redisTargetOf,
} from "../src/index.js";

describe("Sentinel URLs", () => {
  it("reads the Sentinels, the master name, the passwords and the database", () => {
    const url =
      "redis+sentinel://:s%40cret@10.0.0.1:26379,10.0.0.2,[::1]:26380/wgp-main?db=2&sentinelPassword=sp";
    expect(isSentinelUrl(url)).toBe(true);
    expect(parseSentinelUrl(url)).toMatchObject({
      sentinels: [
        { host: "10.0.0.1", port: 26379 },
        { host: "10.0.0.2", port: 26379 },
        { host: "::1", port: 26380 },
      ],
      name: "wgp-main",
      password: "s@cret",
      sentinelPassword: "sp",
      db: 2,
    });
    expect(parseSentinelUrl("redis+sentinel://a:1/m")).not.toHaveProperty("password");
    expect(parseSentinelUrl("redis+sentinel://farm:pw@a:1/m")).toMatchObject({
      username: "farm",
      password: "pw",
    });
  });

  it("refuses a Sentinel URL without a master name or with a bad database, and leaves plain URLs alone", () => {
    expect(() => parseSentinelUrl("redis+sentinel://a:26379")).toThrow(/master-name/);
    expect(() => parseSentinelUrl("redis+sentinel://a:26379/m?db=x")).toThrow(/db=x/);
    expect(redisTargetOf("redis://:pw@h:6379/1")).toEqual({ kind: "url", url: "redis://:pw@h:6379/1" });
  });

  it("hides every password of either form", () => {
    expect(redactRedisUrl("redis+sentinel://:secret@a:1,b:2/m?sentinelPassword=other&db=1")).toBe(
      "redis+sentinel://:***@a:1,b:2/m?sentinelPassword=***&db=1",
    );
    expect(redactRedisUrl("redis+sentinel://user:secret@a:1/m")).toBe("redis+sentinel://user:***@a:1/m");
    expect(redactRedisUrl("redis://:secret@h:6379")).toBe("redis://:***@h:6379");
  });
});

describe("Redis outages", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("logs one line when Redis goes away and one when it is back, for every client and duplicate", async () => {
    const data = await temporaryDir("redis-outage");
    cleanups.push(data.remove);
    let server = await RedisServerProcess.start({ dataDir: data.dir, persistence: "none" });
    cleanups.push(() => server.stop());
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const redis = await connectRedis(server.url, { role: "service", logger });
    const blocking = redis.duplicate();
    const queue = new Queue("outage", { connection: redis });
    queue.on("error", redisErrorListener(redis, "queue outage"));
    await queue.waitUntilReady();
    cleanups.push(async () => {
      await queue.close();
      blocking.disconnect();
      redis.disconnect();
    });
    expect(redisIsDown(redis)).toBe(false);

    await server.kill();
    // Several reconnect attempts of each client fail meanwhile (every 250 ms, then slower).
    await sleep(2_500);
    expect(redisIsDown(redis)).toBe(true);
    const outages = lines.filter((line) => line.msg === "Redis unreachable; reconnecting");
    expect(outages).toHaveLength(1);
    expect(lines.filter((line) => line.msg !== "Redis unreachable; reconnecting")).toEqual([]);

    server = await RedisServerProcess.start({ dataDir: data.dir, persistence: "none", port: server.port });
    await waitUntil(async () => lines.some((line) => line.msg === "Redis reachable again"), 15_000);
    expect(await blocking.ping()).toBe("PONG");
    expect(redisIsDown(redis)).toBe(false);
    const back = lines.filter((line) => line.msg === "Redis reachable again");
    expect(back).toHaveLength(1);
    expect(back[0]).toMatchObject({ redis: server.url });
    expect(back[0]?.errors as number).toBeGreaterThan(1);
    expect(lines).toHaveLength(2);
  });
});
