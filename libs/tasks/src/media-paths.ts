import { stat } from "node:fs/promises";
import path from "node:path";
import { hasControlCharacters } from "./text-rules.js";

/** WanGP's virtual-media suffix (`clip.mp4|start_frame=10,end_frame=50`) rides along after the path. */
function splitVirtualSuffix(value: string): { file: string; suffix: string } {
  const bar = value.indexOf("|");
  return bar === -1 ? { file: value, suffix: "" } : { file: value.slice(0, bar), suffix: value.slice(bar) };
}

export interface ResolvedMediaPath {
  /** The absolute path (with the virtual-media suffix, if any), as stored in the task. */
  value: string;
  /** Why the path cannot be used, or undefined. */
  problem?: string;
}

/**
 * Makes a media path absolute (relative paths resolve against `baseDir`, the tasks file's folder or
 * --media-root) and checks, when asked, that the file exists: WanGP would otherwise fail only after
 * a GPU slot has loaded the model.
 */
export async function resolveMediaPath(
  raw: string,
  baseDir: string,
  checkExists: boolean,
): Promise<ResolvedMediaPath> {
  if (hasControlCharacters(raw)) return { value: raw, problem: "must not contain control characters" };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    return {
      value: raw,
      problem: `'${raw}' is a URL; WanGP does not fetch media: download it and give the file's path`,
    };
  }
  const { file, suffix } = splitVirtualSuffix(raw);
  const absolute = path.resolve(baseDir, file);
  const value = absolute + suffix;
  if (!checkExists) return { value };
  try {
    const info = await stat(absolute);
    if (!info.isFile()) return { value, problem: `${absolute} is not a file` };
    return { value };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const resolvedFrom = path.isAbsolute(file) ? "" : ` (resolved from '${file}' against ${baseDir})`;
    if (code === "ENOENT" || code === "ENOTDIR")
      return { value, problem: `file not found: ${absolute}${resolvedFrom}` };
    return { value, problem: `cannot read ${absolute}: ${code ?? String(error)}` };
  }
}
