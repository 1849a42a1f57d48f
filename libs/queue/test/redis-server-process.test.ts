import { temporaryDir } from "@wgp-farm/testing";
import { describe, expect, it } from "vitest";
import {
  connectRedis,
  findFreePort,
  RedisServerMissingError,
  RedisServerProcess,
  RedisUnreachableError,
} from "../src/index.js";

describe("RedisServerProcess", () => {
  it("starts a private Redis with AOF whose data survives a restart", async () => {
    const data = await temporaryDir("redis-aof");
    try {
      const first = await RedisServerProcess.start({ dataDir: data.dir, persistence: "aof" });
      const client = await connectRedis(first.url);
      expect(await client.config("GET", "appendonly")).toEqual(["appendonly", "yes"]);
      expect(await client.config("GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "noeviction"]);
      await client.set("kept", "yes");
      await client.quit();
      await first.stop();

      const second = await RedisServerProcess.start({
        dataDir: data.dir,
        persistence: "aof",
        port: first.port,
      });
      const again = await connectRedis(second.url);
      expect(await again.get("kept")).toBe("yes");
      await again.quit();
      await second.stop();
    } finally {
      await data.remove();
    }
  });

  it("says how to install redis-server when it is missing", async () => {
    const data = await temporaryDir("redis-missing");
    try {
      const start = RedisServerProcess.start({
        dataDir: data.dir,
        binary: "redis-server-that-does-not-exist",
      });
      await expect(start).rejects.toThrow(RedisServerMissingError);
      await expect(start).rejects.toThrow(/apt-get install redis-server/);
    } finally {
      await data.remove();
    }
  });
});

describe("connectRedis", () => {
  it("fails fast with the URL when nothing listens", async () => {
    const port = await findFreePort();
    const started = Date.now();
    await expect(connectRedis(`redis://:secret@127.0.0.1:${port}`, { timeoutMs: 2000 })).rejects.toThrow(
      RedisUnreachableError,
    );
    await expect(connectRedis(`redis://:secret@127.0.0.1:${port}`, { timeoutMs: 2000 })).rejects.toThrow(
      `cannot reach Redis at redis://:***@127.0.0.1:${port}`,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
