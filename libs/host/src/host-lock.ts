import { type FileHandle, mkdir, open, readFile, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { readRecord } from "@wgp-farm/config";
import { z } from "zod";
import { HostLockTimeoutError } from "./errors.js";

/** The part of fs-native-extensions (a CommonJS addon that ships no types) that the lock uses. */
interface KernelFileLocks {
  /**
   * An exclusive lock on an open file, without waiting: true when granted. On Linux an
   * open-file-description lock (F_OFD_SETLK): two opens of the file exclude each other, even in one process.
   */
  tryLock(fd: number): boolean;
  unlock(fd: number): void;
}
const { tryLock, unlock } = createRequire(import.meta.url)("fs-native-extensions") as KernelFileLocks;

/** What the lock file says about the process holding it (written by the holder once it holds the lock). */
export const LockHolderSchema = z.object({
  pid: z.number(),
  host: z.string(),
  purpose: z.string(),
  since: z.string(),
});
export type LockHolder = z.output<typeof LockHolderSchema>;

export interface HostLockOptions {
  /** Said in the lock file and in messages: what the holder is doing ("model prefetch"). */
  purpose: string;
  /** Give up after this long (default: wait as long as it takes). */
  waitMs?: number;
  pollMs?: number;
  /**
   * @deprecated Not needed any more: the lock is the kernel's, and it is freed the moment its holder
   * dies (on NFS, when the holder's host stops renewing its lease). Accepted so that callers compile.
   */
  staleAfterMs?: number;
  /** Called once when the lock is busy, with its holder, before waiting. */
  onWait?: (holder: LockHolder | undefined) => void;
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

/** The result of `work`, or undefined when the file it reads is not there. */
async function unlessMissing<T>(work: Promise<T>): Promise<T | undefined> {
  try {
    return await work;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

async function readHolder(file: string): Promise<LockHolder | undefined> {
  const text = (await unlessMissing(readFile(file, "utf8"))) ?? "";
  // Empty: the holder has not written itself in yet, or has just let go.
  return text.trim() === "" ? undefined : readRecord(LockHolderSchema, text, "host lock holder");
}

function describe(holder: LockHolder | undefined): string {
  return holder
    ? `${holder.purpose} (pid ${holder.pid} on ${holder.host} since ${holder.since})`
    : "another process";
}

/**
 * A lock file that lets one process at a time on a host (or on any host sharing the folder over NFS)
 * do something that must not run twice at once, such as downloading the same model weights.
 *
 * The lock is a kernel lock on the file (fs-native-extensions: an open-file-description lock on
 * Linux), not the file's existence: the kernel frees it when its holder exits or dies, so there is
 * no stale lock to detect and take over, and no window in which two waiters both "take over" one.
 * The holder removes the file when it lets go, while it still holds the lock; a waiter that was
 * granted the lock on a file removed meanwhile sees that the path no longer names what it locked,
 * and starts again on the path's current file. The content only says who holds it, for messages.
 */
export class HostLock {
  readonly #handle: FileHandle;
  #released = false;

  private constructor(
    readonly file: string,
    readonly holder: LockHolder,
    handle: FileHandle,
  ) {
    this.#handle = handle;
  }

  static async acquire(file: string, options: HostLockOptions): Promise<HostLock> {
    const deadline = Date.now() + (options.waitMs ?? Number.POSITIVE_INFINITY);
    let announced = false;
    await mkdir(path.dirname(file), { recursive: true });
    for (;;) {
      const attempt = await HostLock.#tryHold(file, options);
      if (attempt instanceof HostLock) return attempt;
      // Its holder removed the file while letting go: the lock to take is on the path's new file.
      if (attempt === "removed") continue;
      const current = await readHolder(file);
      if (!announced) {
        options.onWait?.(current);
        announced = true;
      }
      if (Date.now() >= deadline) {
        throw new HostLockTimeoutError(`${file} is held by ${describe(current)}`, current);
      }
      await sleep(options.pollMs ?? 500);
    }
  }

  /** One try: the lock, or why not (someone holds it; the file was removed before it was granted). */
  static async #tryHold(file: string, options: HostLockOptions): Promise<HostLock | "busy" | "removed"> {
    // Opened without truncating: the content belongs to the holder until this process holds the lock.
    const handle = await open(file, "a+");
    let outcome: HostLock | "busy" | "removed" = "busy";
    try {
      if (tryLock(handle.fd)) {
        outcome = (await HostLock.#stillNamedBy(file, handle))
          ? await HostLock.#holding(file, handle, options)
          : "removed";
      }
      return outcome;
    } finally {
      if (!(outcome instanceof HostLock)) await handle.close();
    }
  }

  /** Whether the path still names the file this handle has open (same inode). */
  static async #stillNamedBy(file: string, handle: FileHandle): Promise<boolean> {
    const [opened, named] = await Promise.all([handle.stat(), unlessMissing(stat(file))]);
    return named !== undefined && named.ino === opened.ino && named.dev === opened.dev;
  }

  static async #holding(file: string, handle: FileHandle, options: HostLockOptions): Promise<HostLock> {
    const holder: LockHolder = {
      pid: process.pid,
      host: os.hostname(),
      purpose: options.purpose,
      since: new Date().toISOString(),
    };
    await handle.truncate(0);
    await handle.write(`${JSON.stringify(holder)}\n`, 0);
    return new HostLock(file, holder, handle);
  }

  /** Removes the lock file and lets the next waiter in. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    try {
      // Removed while still held: nobody can be holding the lock on this file but this process.
      await rm(this.file, { force: true });
      unlock(this.#handle.fd);
    } finally {
      // Closing the file frees the kernel lock in any case.
      await this.#handle.close();
    }
  }
}
