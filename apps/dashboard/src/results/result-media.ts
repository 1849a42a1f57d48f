import { realpath } from "node:fs/promises";
import path from "node:path";
import { type FarmConnection, findTaskJob, TaskIndex } from "@wgp-farm/queue";
import { type FinishedJob, finishedJobOfJob } from "./finished-jobs.js";

/** How long a task's servable files are known without asking Redis again. */
const KNOWN_FOR_MS = 60_000;
/** Tasks known at most (a grid shows at most 500). */
const KNOWN_MAX = 2_000;

interface Servable {
  subDir: string;
  /** The file and preview names its result lists. */
  names: ReadonlySet<string>;
  until: number;
}

function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
}

/**
 * Finds the files of published results under the output root, for the dashboard to serve. Only a
 * file the task's completed result lists (its files and previews) is served, and only when its real
 * path, links resolved, is inside the root: a request can never name an arbitrary path.
 *
 * What a result lists is remembered for a minute from the results grid's own read, so that the
 * posters of a grid cost no Redis round trips (a dozen or more per page view otherwise).
 */
export class ResultMedia {
  readonly #farm: FarmConnection;
  readonly #root: Promise<string | null>;
  readonly #known = new Map<string, Servable>();

  constructor(farm: FarmConnection, outputRoot: string | undefined) {
    this.#farm = farm;
    this.#root = outputRoot ? realpath(outputRoot).catch(() => null) : Promise.resolve(null);
  }

  /** Whether there is an output root to serve from (else the grid shows results without media). */
  async serving(): Promise<boolean> {
    return (await this.#root) !== null;
  }

  /** Keeps what the completed ones of `jobs` list, as just read. */
  remember(jobs: readonly FinishedJob[], now = Date.now()): void {
    for (const job of jobs) {
      const subDir = job.task.output_sub_dir;
      if (job.state !== "completed" || subDir === undefined) continue;
      const names = [...(job.summary.files ?? []), ...(job.summary.previews ?? [])].flatMap((file) =>
        file.name === undefined ? [] : [file.name],
      );
      this.#known.delete(job.task_id);
      this.#known.set(job.task_id, { subDir, names: new Set(names), until: now + KNOWN_FOR_MS });
    }
    // Oldest first in a Map: drop those beyond the cap.
    for (const taskId of this.#known.keys()) {
      if (this.#known.size <= KNOWN_MAX) break;
      this.#known.delete(taskId);
    }
  }

  /** The real path of `name` in the task's published result, or null when it is not one to serve. */
  async fileOf(taskId: string, name: string): Promise<string | null> {
    const root = await this.#root;
    if (!root) return null;
    const servable = await this.#servableOf(taskId);
    if (!servable?.names.has(name)) return null;
    const real = await realpath(path.join(root, servable.subDir, name)).catch(() => null);
    return real && isInside(root, real) ? real : null;
  }

  async #servableOf(taskId: string): Promise<Servable | undefined> {
    const known = this.#known.get(taskId);
    if (known && known.until > Date.now()) return known;
    const queue = await new TaskIndex(this.#farm.redis, this.#farm.keys).queueOf(taskId);
    const found = await findTaskJob(this.#farm, taskId, queue);
    if (!found || (await found.job.getState()) !== "completed") return undefined;
    this.remember([finishedJobOfJob(found.job, found.queueName, "completed")]);
    return this.#known.get(taskId);
  }
}
