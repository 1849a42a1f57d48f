import { mkdir, stat } from "node:fs/promises";
import path from "node:path";

/**
 * `mkdir -p` that reports the real reason it failed. Node's recursive mkdir reports a read-only file
 * system (EROFS), and other refusals, as ENOENT ("no such file or directory"): on ENOENT the first
 * missing level is created on its own, which fails with the true error (or succeeds, and the rest
 * follows).
 */
export async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  let missing = dir;
  for (let parent = path.dirname(missing); parent !== missing; parent = path.dirname(missing)) {
    const exists = await stat(parent).then(
      () => true,
      () => false,
    );
    if (exists) break;
    missing = parent;
  }
  await mkdir(missing);
  await mkdir(dir, { recursive: true });
}
