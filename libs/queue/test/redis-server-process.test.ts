import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { temporaryDir } from "@wgp-farm/testing";
import { execa } from "execa";
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

  it("lives in a process group of its own, and a server left by a killed owner is stopped by the next start", async () => {
    const data = await temporaryDir("redis-orphan");
    const entry = fileURLToPath(new URL("../dist/index.js", import.meta.url));
    // An owner that starts a private Redis, prints its pid and port, then waits to be killed.
    const owner = execa(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { RedisServerProcess } = await import(${JSON.stringify(entry)});
         const server = await RedisServerProcess.start({ dataDir: ${JSON.stringify(data.dir)}, persistence: "aof" });
         console.log(JSON.stringify({ pid: server.pid, port: server.port }));
         setInterval(() => {}, 1000);`,
      ],
      { stdin: "ignore", stderr: "inherit", reject: false, buffer: false },
    );
    try {
      const line = await new Promise<string>((resolve) =>
        owner.stdout.once("data", (chunk) => resolve(String(chunk))),
      );
      const orphan = JSON.parse(line) as { pid: number; port: number };
      const stat = async (pid: number) =>
        (await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "")).split(") ")[1]?.split(" ") ?? [];
      const groupOf = async (pid: number) => Number((await stat(pid))[2]);
      // Gone, or a zombie waiting for whoever adopted it to reap it.
      const running = async (pid: number) => !["", "Z", undefined].includes((await stat(pid))[0]);
      // A terminal's Ctrl+C signals the owner's group: the server is not in it.
      expect(await groupOf(orphan.pid)).not.toBe(await groupOf(owner.pid as number));
      owner.kill("SIGKILL");
      await owner;
      expect(await readFile(path.join(data.dir, "redis-server.pid"), "utf8")).toContain(String(orphan.pid));
      expect(await running(orphan.pid)).toBe(true); // orphaned, still serving its folder

      const next = await RedisServerProcess.start({ dataDir: data.dir, persistence: "aof" });
      expect(await running(orphan.pid)).toBe(false);
      expect(await readFile(path.join(data.dir, "redis-server.pid"), "utf8")).toContain(String(next.pid));
      await next.stop();
    } finally {
      owner.kill("SIGKILL"); // a no-op once it has exited
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
