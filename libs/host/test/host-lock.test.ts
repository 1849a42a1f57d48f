import { spawnSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { temporaryDir } from "@wgp-farm/testing";
import { execa, type ResultPromise } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostLock, HostLockTimeoutError, type LockHolder } from "../src/index.js";

/** The built package: other processes take the lock through it, as the worker and the CLI do. */
const BUILT_HOST_LIB = new URL("../dist/index.js", import.meta.url).href;

let folder: Awaited<ReturnType<typeof temporaryDir>>;
beforeAll(async () => {
  folder = await temporaryDir("host-lock");
});
afterAll(async () => {
  await folder.remove();
});

function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""]);
  if (!child.pid) throw new Error("no child pid");
  return child.pid;
}

/** A lock file as a holder that died leaves it: its line, and no process holding the lock. */
async function writeDeadHolder(file: string): Promise<void> {
  const holder: LockHolder = { pid: deadPid(), host: os.hostname(), purpose: "crashed", since: "2026-01-01" };
  await writeFile(file, JSON.stringify(holder));
}

/**
 * Another process that takes the lock and holds it until it is killed; resolves once it holds it
 * (wrapped: the child is itself a promise, of its exit).
 */
async function holdInAnotherProcess(file: string, purpose: string): Promise<{ child: ResultPromise }> {
  const script = `
    const { HostLock } = await import(${JSON.stringify(BUILT_HOST_LIB)});
    await HostLock.acquire(${JSON.stringify(file)}, { purpose: ${JSON.stringify(purpose)}, pollMs: 20 });
    console.log("held");
    setInterval(() => {}, 60_000);
  `;
  const child = execa(process.execPath, ["--input-type=module", "-e", script], { reject: false });
  const { promise: held, resolve, reject } = Promise.withResolvers<void>();
  child.stdout.on("data", (chunk: Buffer) => {
    if (chunk.toString().includes("held")) resolve();
  });
  void child.then((result) => reject(new Error(`the holder exited early: ${result.stderr}`)));
  await held;
  return { child };
}

describe("HostLock", () => {
  it("lets one holder in at a time and says who holds it", async () => {
    const file = path.join(folder.dir, "one-at-a-time.lock");
    const first = await HostLock.acquire(file, { purpose: "model prefetch" });
    const holder = JSON.parse(await readFile(file, "utf8")) as LockHolder;
    expect(holder).toMatchObject({ pid: process.pid, purpose: "model prefetch" });

    const seen: (LockHolder | undefined)[] = [];
    const blocked = await HostLock.acquire(file, {
      purpose: "second",
      waitMs: 300,
      pollMs: 50,
      onWait: (h) => seen.push(h),
    }).catch((error) => error);
    expect(blocked).toBeInstanceOf(HostLockTimeoutError);
    expect(blocked.message).toContain("model prefetch");
    expect(seen).toHaveLength(1);

    const waiting = HostLock.acquire(file, { purpose: "third", pollMs: 20 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await first.release();
    const third = await waiting;
    expect(third.holder.purpose).toBe("third");
    await third.release();
    await expect(readFile(file, "utf8")).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("takes over a lock whose holder died on this host", async () => {
    const file = path.join(folder.dir, "dead.lock");
    await writeDeadHolder(file);
    const lock = await HostLock.acquire(file, { purpose: "after crash", waitMs: 2000, pollMs: 20 });
    expect(lock.holder.purpose).toBe("after crash");
    expect(JSON.parse(await readFile(file, "utf8"))).toMatchObject({ purpose: "after crash" });
    await lock.release();
  });

  it("waits for a lock another process holds, and takes it as soon as that process is killed", async () => {
    const file = path.join(folder.dir, "other-process.lock");
    const { child: holder } = await holdInAnotherProcess(file, "remote download");
    try {
      const blocked = await HostLock.acquire(file, { purpose: "here", waitMs: 200, pollMs: 20 }).catch(
        (error) => error,
      );
      expect(blocked).toBeInstanceOf(HostLockTimeoutError);
      expect(blocked.holder).toMatchObject({ pid: holder.pid, purpose: "remote download" });
    } finally {
      holder.kill("SIGKILL");
      await holder;
    }
    const lock = await HostLock.acquire(file, { purpose: "here", waitMs: 2000, pollMs: 20 });
    expect(lock.holder.pid).toBe(process.pid);
    await lock.release();
  });

  it("lets exactly one of several processes racing over a stale lock in at a time", async () => {
    const file = path.join(folder.dir, "race.lock");
    const log = path.join(folder.dir, "race.log");
    await writeDeadHolder(file);
    await writeFile(log, "");
    const script = `
      const { appendFile } = await import("node:fs/promises");
      const { HostLock } = await import(${JSON.stringify(BUILT_HOST_LIB)});
      const lock = await HostLock.acquire(${JSON.stringify(file)}, { purpose: "racer", pollMs: 5 });
      await appendFile(${JSON.stringify(log)}, "in " + process.pid + "\\n");
      await new Promise((resolve) => setTimeout(resolve, 150));
      await appendFile(${JSON.stringify(log)}, "out " + process.pid + "\\n");
      await lock.release();
    `;
    const racers = Array.from({ length: 4 }, () =>
      execa(process.execPath, ["--input-type=module", "-e", script]),
    );
    await Promise.all(racers);
    const lines = (await readFile(log, "utf8")).trim().split("\n");
    expect(lines).toHaveLength(8);
    // Mutual exclusion: every "in" is followed by the same process's "out" before anyone else's "in".
    for (let i = 0; i < lines.length; i += 2) {
      const [enter, pid] = (lines[i] ?? "").split(" ");
      expect(enter).toBe("in");
      expect(lines[i + 1]).toBe(`out ${pid}`);
    }
  });
});
