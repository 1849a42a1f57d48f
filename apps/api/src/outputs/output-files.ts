import { realpath, stat } from "node:fs/promises";
import path from "node:path";
import type { BucketResults } from "@wgp-farm/storage";
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
  readonly #results: BucketResults | undefined;
  readonly #linkTtlMs: number | undefined;

  /** `results`: where results kept in a bucket are found (their files are links, not local files). */
  constructor(root: string, stored: { results?: BucketResults; linkTtlMs?: number } = {}) {
    this.#root = path.resolve(root);
    this.#results = stored.results;
    this.#linkTtlMs = stored.linkTtlMs;
  }

  /**
   * A time-limited link to a file of a result kept in a bucket (one of the files its manifest lists,
   * or the manifest); undefined for a result in the output folder, served by `resolve`.
   */
  async linkOf(taskId: string, result: unknown, name: string): Promise<string | undefined> {
    if (!this.#results) return undefined;
    const outputDir = (result as { output_dir?: unknown } | null)?.output_dir;
    if (typeof outputDir !== "string" || !this.#results.holds(outputDir)) return undefined;
    const links = await this.#results.linksOfResult(result, this.#linkTtlMs);
    const link = links.find((candidate) => candidate.name === name);
    if (!link) throw notFound(taskId, name);
    return link.url;
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
