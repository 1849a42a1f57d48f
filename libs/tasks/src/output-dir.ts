import { readlink, realpath } from "node:fs/promises";
import path from "node:path";
import { hasControlCharacters } from "./text-rules.js";

/** Folder names wgp-farm keeps for itself inside the main output dir (staging of unpublished results). */
export const RESERVED_OUTPUT_PREFIX = ".wgp-farm";

const MAX_SUB_DIR_LENGTH = 255;
/** File systems (ext4, xfs, btrfs, tmpfs, NFS…) limit each folder name to 255 bytes (NAME_MAX), not characters. */
const MAX_SEGMENT_BYTES = 255;

/**
 * Why `subDir` cannot name a folder inside the main output dir, or undefined when it can. Purely
 * lexical: symlinks are checked when the folder is resolved on a worker (`resolveOutputDir`).
 */
export function outputSubDirProblem(subDir: string): string | undefined {
  if (subDir.length === 0) return "must not be empty";
  if (subDir.length > MAX_SUB_DIR_LENGTH) return `must be at most ${MAX_SUB_DIR_LENGTH} characters`;
  if (hasControlCharacters(subDir)) return "must not contain control characters";
  if (subDir.includes("\\")) return "must use '/' between folders, not '\\'";
  if (path.posix.isAbsolute(subDir) || /^[A-Za-z]:/.test(subDir)) {
    return "must be relative to the main output dir, not an absolute path (it would write outside the output root)";
  }
  const segments = subDir.split("/");
  if (segments.includes("..")) return "must not contain '..' (it would resolve outside the main output dir)";
  const tooLong = segments.find((segment) => Buffer.byteLength(segment) > MAX_SEGMENT_BYTES);
  if (tooLong !== undefined) {
    return `has a folder name of ${Buffer.byteLength(tooLong)} bytes; file systems allow at most ${MAX_SEGMENT_BYTES} bytes per name`;
  }
  const normalized = normalizeOutputSubDir(subDir);
  if (normalized === "" || normalized === ".")
    return "must name a folder inside the main output dir, not the dir itself";
  if (normalized.split("/")[0]?.startsWith(RESERVED_OUTPUT_PREFIX)) {
    return `must not start with '${RESERVED_OUTPUT_PREFIX}' (reserved for wgp-farm's staging folders)`;
  }
  return undefined;
}

/** `./a//b/` → `a/b`. Only meaningful for sub dirs that passed `outputSubDirProblem`. */
export function normalizeOutputSubDir(subDir: string): string {
  return path.posix
    .normalize(subDir)
    .replace(/^\.\/+/, "")
    .replace(/\/+$/, "");
}

export class OutputDirEscapeError extends Error {
  override name = "OutputDirEscapeError";
}

/**
 * The absolute folder for a task's results. Re-checks the lexical rules, then follows the symlinks of
 * every part that already exists, so a link planted inside the output root cannot lead writes outside.
 */
export async function resolveOutputDir(mainOutputDir: string, subDir: string): Promise<string> {
  const problem = outputSubDirProblem(subDir);
  if (problem) throw new OutputDirEscapeError(`output_sub_dir '${subDir}' ${problem}`);
  const root = await realpath(mainOutputDir);
  const target = path.join(root, normalizeOutputSubDir(subDir));
  const existing = await deepestExistingRealPath(target, subDir);
  if (!isInside(root, existing)) {
    throw new OutputDirEscapeError(
      `output_sub_dir '${subDir}' resolves to ${existing} through a symbolic link, outside the main output dir ${root}`,
    );
  }
  return target;
}

function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}

/**
 * The real path of `target`'s deepest existing part, with the missing parts appended. A part that is
 * a file, a symlink loop or a symlink to nothing cannot hold the task's folder: refused as escapes,
 * since where such a path would lead is not known (a dangling link may point outside once its target
 * appears).
 */
async function deepestExistingRealPath(target: string, subDir: string): Promise<string> {
  let current = target;
  const missing: string[] = [];
  for (;;) {
    try {
      return path.join(await realpath(current), ...missing.reverse());
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ELOOP") {
        throw new OutputDirEscapeError(`output_sub_dir '${subDir}' goes through a loop of symbolic links`);
      }
      if (code === "ENOTDIR") {
        throw new OutputDirEscapeError(`output_sub_dir '${subDir}' goes through a file, not a folder`);
      }
      if (code !== "ENOENT") throw error;
      const link = await readlink(current).catch(() => undefined);
      if (link !== undefined) {
        throw new OutputDirEscapeError(
          `output_sub_dir '${subDir}' goes through the symbolic link ${current}, which leads to ${link}, a path that does not exist`,
        );
      }
      const parent = path.dirname(current);
      if (parent === current) throw error;
      missing.push(path.basename(current));
      current = parent;
    }
  }
}
