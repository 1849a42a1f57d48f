import { type FileHandle, open, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";

/** The part of fs-native-extensions (a CommonJS addon that ships no types) that marks files in use. */
interface KernelRangeLocks {
  /** A lock on the whole file without waiting (shared or exclusive): true when granted. */
  tryLock(fd: number, options: { shared: boolean }): boolean;
}
const { tryLock } = createRequire(import.meta.url)("fs-native-extensions") as KernelRangeLocks;

/** The handle, or undefined when the file is not there. */
async function openIfPresent(file: string, flags: "r" | "r+"): Promise<FileHandle | undefined> {
  try {
    return await open(file, flags);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Whether the path still names the file this handle has open (same inode). */
async function stillNamedBy(file: string, handle: FileHandle): Promise<boolean> {
  const [opened, named] = await Promise.all([handle.stat(), stat(file).catch(() => undefined)]);
  return named !== undefined && named.ino === opened.ino && named.dev === opened.dev;
}

/**
 * A file some process is reading through its path (a cached input a job's engine reads): held open
 * with a shared kernel lock (open-file-description lock on Linux), which the kernel drops when the
 * process dies. `removeUnlessInUse` takes the exclusive lock before removing, so it never removes a
 * file in use, in this process or another one on the host. Files must only ever be created at their
 * path (never replaced by a rename over them) for the check to be exact.
 */
export class FileInUse {
  readonly #handle: FileHandle;
  #released = false;

  private constructor(
    readonly file: string,
    handle: FileHandle,
  ) {
    this.#handle = handle;
  }

  /** Holds the file; undefined when it is not there (or was just removed). */
  static async hold(file: string): Promise<FileInUse | undefined> {
    const handle = await openIfPresent(file, "r");
    if (!handle) return undefined;
    let held = false;
    try {
      held = tryLock(handle.fd, { shared: true }) && (await stillNamedBy(file, handle));
      return held ? new FileInUse(file, handle) : undefined;
    } finally {
      if (!held) await handle.close();
    }
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.#handle.close();
  }
}

/** Removes a file nobody holds (see FileInUse): true when it is gone, false when it is in use. */
export async function removeUnlessInUse(file: string): Promise<boolean> {
  // Opened for writing: the kernel grants an exclusive lock only on a file open for writing.
  const handle = await openIfPresent(file, "r+");
  if (!handle) return true;
  try {
    if (!tryLock(handle.fd, { shared: false })) return false;
    if (await stillNamedBy(file, handle)) await rm(file, { force: true });
    return true;
  } finally {
    await handle.close();
  }
}
