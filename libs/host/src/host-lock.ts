import { mkdir, open, readFile, stat, unlink, utimes } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

/** What the lock file says about the process holding it. */
export interface LockHolder {
  pid: number;
  host: string;
  purpose: string;
  since: string;
}

export interface HostLockOptions {
  /** Said in the lock file and in messages: what the holder is doing ("model prefetch"). */
  purpose: string;
  /** Give up after this long (default: wait as long as it takes). */
  waitMs?: number;
  pollMs?: number;
  /**
   * A holder that has not refreshed the file for this long is gone (default 2 min). The holder
   * refreshes it every `staleAfterMs / 4`. This is what frees a lock left by a container or another
   * machine, whose process ids mean nothing here.
   */
  staleAfterMs?: number;
  /** Called once when the lock is busy, with its holder, before waiting. */
  onWait?: (holder: LockHolder | undefined) => void;
}

export class HostLockTimeoutError extends Error {
  override name = "HostLockTimeoutError";
  constructor(
    message: string,
    readonly holder: LockHolder | undefined,
  ) {
    super(message);
  }
}

/** Whether a process with this id runs on this machine (EPERM: it does, under another user). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readHolder(
  file: string,
): Promise<{ holder: LockHolder | undefined; text: string } | undefined> {
  try {
    const text = await readFile(file, "utf8");
    try {
      return { holder: JSON.parse(text) as LockHolder, text };
    } catch {
      return { holder: undefined, text };
    }
  } catch {
    return undefined;
  }
}

/**
 * A lock file that lets one process at a time on a host (or on any host sharing the folder) do
 * something that must not run twice at once, such as downloading the same model weights. Created
 * with O_EXCL; freed by `release`, or taken over when its holder died (same host, process gone) or
 * stopped refreshing it.
 */
export class HostLock {
  #refresh: NodeJS.Timeout;
  #released = false;

  private constructor(
    readonly file: string,
    readonly holder: LockHolder,
    refreshEveryMs: number,
  ) {
    this.#refresh = setInterval(() => {
      const now = new Date();
      utimes(this.file, now, now).catch(() => {});
    }, refreshEveryMs);
    this.#refresh.unref();
  }

  static async acquire(file: string, options: HostLockOptions): Promise<HostLock> {
    const staleAfterMs = options.staleAfterMs ?? 120_000;
    const deadline = Date.now() + (options.waitMs ?? Number.POSITIVE_INFINITY);
    const holder: LockHolder = {
      pid: process.pid,
      host: os.hostname(),
      purpose: options.purpose,
      since: new Date().toISOString(),
    };
    await mkdir(path.dirname(file), { recursive: true });
    let announced = false;
    for (;;) {
      try {
        const handle = await open(file, "wx");
        await handle.writeFile(`${JSON.stringify(holder)}\n`);
        await handle.close();
        return new HostLock(file, holder, Math.max(1000, staleAfterMs / 4));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const current = await readHolder(file);
      if (current && (await HostLock.#isStale(file, current.holder, staleAfterMs))) {
        // Re-read just before removing, so that a lock taken over by someone else in the meantime
        // is left alone.
        const again = await readHolder(file);
        if (again?.text === current.text) await unlink(file).catch(() => {});
        continue;
      }
      if (!announced) {
        options.onWait?.(current?.holder);
        announced = true;
      }
      if (Date.now() >= deadline) {
        const who = current?.holder
          ? `${current.holder.purpose} (pid ${current.holder.pid} on ${current.holder.host} since ${current.holder.since})`
          : "another process";
        throw new HostLockTimeoutError(`${file} is held by ${who}`, current?.holder);
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
    }
  }

  static async #isStale(
    file: string,
    holder: LockHolder | undefined,
    staleAfterMs: number,
  ): Promise<boolean> {
    if (holder && holder.host === os.hostname() && !processIsAlive(holder.pid)) return true;
    try {
      return Date.now() - (await stat(file)).mtimeMs > staleAfterMs;
    } catch {
      return false;
    }
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    clearInterval(this.#refresh);
    const current = await readHolder(this.file);
    if (current?.holder?.pid === this.holder.pid && current.holder.since === this.holder.since) {
      await unlink(this.file).catch(() => {});
    }
  }
}
