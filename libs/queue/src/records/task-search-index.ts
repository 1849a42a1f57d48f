import { bestEffort, createLogger, type Logger, readRecord } from "@wgp-farm/config";
import type { Redis } from "ioredis";
import { z } from "zod";
import type { FarmConnection } from "./farm-connection.js";
import type { FarmKeys } from "./farm-keys.js";

/** What the search knows of a task without opening its job: enough to match a query. */
export const SearchDocSchema = z.object({
  task_id: z.string(),
  model: z.string(),
  /** The prompt, cut to PROMPT_CHARS. */
  prompt: z.string(),
  /** When the task was imported (ms). */
  at: z.number(),
});
export type SearchDoc = z.output<typeof SearchDocSchema>;

/** What a search asks for; every given part must match. */
export interface SearchQuery {
  /** Words: each must start the task id or a word of the prompt (case-insensitive). */
  text?: string | undefined;
  model?: string | undefined;
  /** Imported at or after / before (ms). */
  from?: number | undefined;
  to?: number | undefined;
}

const PROMPT_CHARS = 1_000;
/** Documents read per round trip while walking the index newest first. */
const PAGE = 1_000;

export function searchDocOf(task: { task_id: string; model: string; prompt: string }, at: number): SearchDoc {
  return { task_id: task.task_id, model: task.model, prompt: task.prompt.slice(0, PROMPT_CHARS), at };
}

function wordsOf(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}_.:-]+/u)
    .filter(Boolean);
}

/** A predicate over documents for the query's text, model and time range. */
export function matcherOf(query: SearchQuery): (doc: SearchDoc) => boolean {
  const terms = wordsOf(query.text ?? "");
  return (doc) => {
    if (query.model && doc.model !== query.model) return false;
    if (query.from !== undefined && doc.at < query.from) return false;
    if (query.to !== undefined && doc.at >= query.to) return false;
    if (terms.length === 0) return true;
    const id = doc.task_id.toLowerCase();
    const words = wordsOf(doc.prompt);
    return terms.every((term) => id.startsWith(term) || words.some((word) => word.startsWith(term)));
  };
}

/**
 * The farm's own task search index (Bull Board cannot search): a document per task and the tasks in
 * import order, written by the importer as it queues tasks (and once for tasks imported before it
 * existed). Entries of tasks whose jobs are gone are dropped by the searches that meet them.
 */
export class TaskSearchIndex {
  readonly #redis: Redis;
  readonly #keys: FarmKeys;
  readonly #logger: Logger;

  constructor(redis: Redis, keys: FarmKeys, logger?: Logger) {
    this.#redis = redis;
    this.#keys = keys;
    this.#logger = logger ?? createLogger({ name: "task-search" });
  }

  static of(farm: FarmConnection, logger?: Logger): TaskSearchIndex {
    return new TaskSearchIndex(farm.redis, farm.keys, logger);
  }

  async add(docs: readonly SearchDoc[]): Promise<void> {
    if (docs.length === 0) return;
    await this.#redis
      .multi()
      .hset(this.#keys.searchDocs, ...docs.flatMap((doc) => [doc.task_id, JSON.stringify(doc)]))
      .zadd(this.#keys.searchTimes, ...docs.flatMap((doc) => [doc.at, doc.task_id]))
      .exec();
  }

  /** Tasks just queued by the importer; never throws into it (a task missing from search is logged). */
  async queued(tasks: readonly { task_id: string; model: string; prompt: string }[]): Promise<void> {
    const now = Date.now();
    await bestEffort(
      this.add(tasks.map((task) => searchDocOf(task, now))),
      this.#logger,
      `indexing ${tasks.length} tasks for search`,
      "warn",
    );
  }

  async remove(taskIds: readonly string[]): Promise<void> {
    if (taskIds.length === 0) return;
    await this.#redis
      .multi()
      .hdel(this.#keys.searchDocs, ...taskIds)
      .zrem(this.#keys.searchTimes, ...taskIds)
      .exec();
  }

  async size(): Promise<number> {
    return this.#redis.zcard(this.#keys.searchTimes);
  }

  /** Whether every task imported before the index existed is in it. */
  async backfilled(): Promise<boolean> {
    return (await this.#redis.exists(this.#keys.searchBackfilled)) === 1;
  }

  async markBackfilled(): Promise<void> {
    await this.#redis.set(this.#keys.searchBackfilled, new Date().toISOString());
  }

  /** Matching documents, newest first, in pages of the index (the caller stops when it has enough). */
  async *matching(query: SearchQuery): AsyncGenerator<SearchDoc> {
    const matches = matcherOf(query);
    const max = query.to !== undefined ? `(${query.to}` : "+inf";
    const min = query.from !== undefined ? String(query.from) : "-inf";
    for (let offset = 0; ; offset += PAGE) {
      const ids = await this.#redis.zrevrangebyscore(this.#keys.searchTimes, max, min, "LIMIT", offset, PAGE);
      if (ids.length === 0) return;
      const raw = await this.#redis.hmget(this.#keys.searchDocs, ...ids);
      for (const text of raw) {
        const doc = readRecord(SearchDocSchema, text, "search document", this.#logger);
        if (doc && matches(doc)) yield doc;
      }
      if (ids.length < PAGE) return;
    }
  }
}
