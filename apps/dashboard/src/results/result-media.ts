import { realpath } from "node:fs/promises";
import path from "node:path";
import { type FarmConnection, findTaskJob, TaskIndex } from "@wgp-farm/queue";

interface PublishedShape {
  files?: { name?: unknown }[];
  previews?: { name?: unknown }[];
}

function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
}

/**
 * Finds the files of published results under the output root, for the dashboard to serve. Only a
 * file the task's result lists (its files and previews) is served, and only when its real path, links
 * resolved, is inside the root: a request can never name an arbitrary path.
 */
export class ResultMedia {
  readonly #farm: FarmConnection;
  readonly #root: Promise<string | null>;

  constructor(farm: FarmConnection, outputRoot: string | undefined) {
    this.#farm = farm;
    this.#root = outputRoot ? realpath(outputRoot).catch(() => null) : Promise.resolve(null);
  }

  /** Whether there is an output root to serve from (else the grid shows results without media). */
  async serving(): Promise<boolean> {
    return (await this.#root) !== null;
  }

  /** The real path of `name` in the task's published result, or null when it is not one to serve. */
  async fileOf(taskId: string, name: string): Promise<string | null> {
    const root = await this.#root;
    if (!root) return null;
    const queue = await new TaskIndex(this.#farm.redis, this.#farm.keys).queueOf(taskId);
    const found = await findTaskJob(this.#farm, taskId, queue);
    if (!found || (await found.job.getState()) !== "completed") return null;
    const result = (found.job.returnvalue ?? {}) as PublishedShape;
    const listed = [...(result.files ?? []), ...(result.previews ?? [])].some((file) => file.name === name);
    const subDir = found.job.data?.task?.output_sub_dir;
    if (!listed || typeof subDir !== "string") return null;
    const real = await realpath(path.join(root, subDir, name)).catch(() => null);
    return real && isInside(root, real) ? real : null;
  }
}
