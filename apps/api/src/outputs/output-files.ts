import { realpath, stat } from "node:fs/promises";
import path from "node:path";
import { ApiError } from "../errors.js";
import { isInside } from "../path-inside.js";

function notFound(taskId: string, name: string): ApiError {
  return new ApiError(404, "file_not_found", `task '${taskId}' has no output file '${name}'`);
}

/**
 * The workers' output root as this host mounts it. A file is served only when its real path (every
 * symlink followed) is a regular file inside the task's own output folder, itself inside the root:
 * no `..`, no absolute name, no symlink out, no hidden staging folder.
 */
export class OutputFiles {
  readonly #root: string;

  constructor(root: string) {
    this.#root = path.resolve(root);
  }

  /** The real path of a task's output file, or a 404/400 that says why not. */
  async resolve(taskId: string, outputSubDir: string | null, name: string): Promise<string> {
    if (
      name === "" ||
      name.includes("/") ||
      name.includes("\\") ||
      name.includes("\0") ||
      name.startsWith(".")
    ) {
      throw new ApiError(
        400,
        "invalid_file_name",
        `'${name}' is not a file name of the task's output folder: give a plain name from the task's files list`,
      );
    }
    if (!outputSubDir) throw notFound(taskId, name);
    const root = await realpath(this.#root).catch(() => undefined);
    if (root === undefined)
      throw new ApiError(503, "output_root_unavailable", "the output folder is not reachable on this host");
    const folder = path.resolve(this.#root, outputSubDir);
    const [realFolder, realFile] = await Promise.all([
      realpath(folder).catch(() => undefined),
      realpath(path.join(folder, name)).catch(() => undefined),
    ]);
    if (!realFolder || !realFile || !isInside(root, realFolder) || !isInside(realFolder, realFile)) {
      throw notFound(taskId, name);
    }
    const info = await stat(realFile);
    if (!info.isFile()) throw notFound(taskId, name);
    return realFile;
  }
}
