/**
 * Making the output folder unwritable for real. The tests run as root, so chmod stops nothing; what
 * does: a file system that is full (a small tmpfs filled up: ENOSPC), one remounted read-only (EROFS),
 * or — where mounting is not allowed — a plain file placed where the staging folder must be (ENOTDIR).
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, open, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { bestEffort } from "@wgp-farm/config";
import { harnessLog } from "./harness-log.ts";

const run = promisify(execFile);

/** Whether this process may mount file systems (root with CAP_SYS_ADMIN, not in a locked-down container). */
export async function canMount(): Promise<boolean> {
  if (process.platform !== "linux") return false;
  const probe = await mkdtemp(path.join(os.tmpdir(), "wgp-farm-mount-probe-"));
  try {
    await run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", probe]);
    await run("umount", [probe]);
    return true;
  } catch {
    return false;
  } finally {
    await rm(probe, { recursive: true, force: true });
  }
}

/** A tmpfs of `sizeMiB` mounted on `dir` (created if missing). */
export async function mountTmpfs(dir: string, sizeMiB: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  await run("mount", ["-t", "tmpfs", "-o", `size=${sizeMiB}m,mode=0755`, "tmpfs", dir]);
}

export async function unmount(dir: string): Promise<void> {
  await bestEffort(run("umount", ["-l", dir]), harnessLog, `unmounting ${dir}`);
}

export async function remount(dir: string, mode: "ro" | "rw"): Promise<void> {
  await run("mount", ["-o", `remount,${mode}`, dir]);
}

/** Fills the file system holding `dir` with a ballast file until ENOSPC; returns the ballast's path. */
export async function fillUp(dir: string): Promise<string> {
  const ballast = path.join(dir, "ballast.bin");
  const handle = await open(ballast, "w");
  const chunk = Buffer.alloc(256 * 1024);
  try {
    for (;;) await handle.write(chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    await bestEffort(handle.close(), harnessLog, "closing the ballast file");
  }
  // The last partial blocks: small writes until nothing fits.
  const small = await open(ballast, "a");
  try {
    for (;;) await small.write(Buffer.alloc(512));
  } catch {
    // full
  } finally {
    await bestEffort(small.close(), harnessLog, "closing the ballast file");
  }
  return ballast;
}

/** Without mounts: the staging folder becomes a plain file, so nothing can be created under it. */
export async function blockStaging(stagingDir: string): Promise<() => Promise<void>> {
  const aside = `${stagingDir}.aside`;
  await rename(stagingDir, aside);
  await writeFile(stagingDir, "in the way\n");
  return async () => {
    await rm(stagingDir, { force: true });
    await rename(aside, stagingDir);
  };
}
