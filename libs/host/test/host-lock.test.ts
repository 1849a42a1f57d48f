import { spawnSync } from "node:child_process";
import { readFile, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { temporaryDir } from "@wgp-farm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostLock, HostLockTimeoutError, type LockHolder } from "../src/index.js";

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
  });

  it("takes over a lock whose holder died on this host", async () => {
    const file = path.join(folder.dir, "dead.lock");
    await writeFile(
      file,
      JSON.stringify({ pid: deadPid(), host: os.hostname(), purpose: "crashed", since: "2026-01-01" }),
    );
    const lock = await HostLock.acquire(file, { purpose: "after crash", waitMs: 2000, pollMs: 20 });
    expect(lock.holder.purpose).toBe("after crash");
    await lock.release();
  });

  it("waits for a fresh lock held elsewhere and takes over one that stopped being refreshed", async () => {
    const file = path.join(folder.dir, "elsewhere.lock");
    const elsewhere = { pid: 1, host: "another-host", purpose: "remote", since: "2026-01-01" };
    await writeFile(file, JSON.stringify(elsewhere));
    const blocked = await HostLock.acquire(file, { purpose: "here", waitMs: 200, pollMs: 20 }).catch(
      (error) => error,
    );
    expect(blocked).toBeInstanceOf(HostLockTimeoutError);

    const old = new Date(Date.now() - 10 * 60_000);
    await utimes(file, old, old);
    const lock = await HostLock.acquire(file, { purpose: "here", waitMs: 2000, pollMs: 20 });
    expect(lock.holder.host).not.toBe("another-host");
    await lock.release();
  });
});
