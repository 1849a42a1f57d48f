import type { Redis } from "ioredis";
import { type FarmKeys, modelQueueName } from "./farm-keys.js";
import { ANNOUNCE_WORK_SCRIPT } from "./scripts/announce-work.js";

/** Why work may be ready: a job was added, retried, stalled back, returned by a drain, or its queue resumed. */
export type WorkReason = "add" | "retry" | "stall" | "requeue" | "resume";

/** One entry of the work stream, as readers see it. */
export interface WorkEntry {
  reason: WorkReason;
  models: string[];
  /** How many tasks the entry stands for (at least 1). */
  count: number;
  taskIds: string[];
  /** When the work becomes ready (a retry in backoff), epoch ms; null: now. */
  readyAt: number | null;
  /** Live slots that held the model when the entry was written. */
  serving: number;
  /** The processes (idle roster ids) that should wake for it; null: every process decides for itself. */
  to: string[] | null;
  /** How many times a named process that had no idle slot passed the entry on. */
  hops: number;
}

/**
 * The idle roster: the processes that have an idle slot (zset process id → expiry ms), and per model
 * those whose idle slot holds it. The announce script names processes from it; each process keeps
 * its own entries current (DESIGN.md, scale: targeted wake-ups).
 */
export function idleRosterKey(keys: FarmKeys, model: string | null = null): string {
  return model === null ? `${keys.workSignal}:idle` : `${keys.workSignal}:idle:${model}`;
}

/**
 * The stream every reader blocks on: the entries that name no process (bulk work, stalls, retries in
 * backoff, or no idle process on the roster). The farm's work stream (`keys.workSignal`) keeps every
 * entry, but nobody blocks on it: one XADD there woke every process of the farm.
 */
export function workBroadcastKey(keys: FarmKeys): string {
  return `${keys.workSignal}:all`;
}

/** The stream a process (its idle roster id) blocks on besides the broadcast one: the entries that name it. */
export function workInboxKey(keys: FarmKeys, processId: string): string {
  return `${keys.workSignal}:to:${processId}`;
}

/** A process's own stream: a few entries, gone this long after the last (the roster forgets a dead process in 30 s). */
const INBOX_MAX_ENTRIES = 100;
const INBOX_TTL_MS = 60_000;

/** The stream holds the last entries only: readers follow it live, a late reader re-reads the queues. */
const MAX_ENTRIES = 10_000;

/** An entry for more tasks than this names no process: every process decides for itself (bulk work). */
const MAX_NAMED_TASKS = 4;

interface AnnounceCommand {
  wgpAnnounceWork(...keysAndArgs: (string | number)[]): Promise<string>;
}

/**
 * The farm-level "work may be ready" signal (DESIGN.md round 2): one short stream entry per add,
 * retry, stall, requeue or resume, naming the models. Idle workers block on it instead of every
 * queue's BullMQ event stream (which carries every progress update): on the broadcast copy, and on
 * their own stream for the entries that name them (`workBroadcastKey`, `workInboxKey`).
 */
export class WorkSignal {
  readonly #redis: Redis;
  readonly #keys: FarmKeys;

  constructor(redis: Redis, keys: FarmKeys) {
    if (!("wgpAnnounceWork" in redis)) {
      redis.defineCommand("wgpAnnounceWork", { numberOfKeys: 6, lua: ANNOUNCE_WORK_SCRIPT });
    }
    this.#redis = redis;
    this.#keys = keys;
  }

  get key(): string {
    return this.#keys.workSignal;
  }

  /**
   * Says that work may be ready: one entry per model, counting how often `models` names it (pass
   * one model per task). With `taskIds` of one model, a retry in backoff carries its ready time.
   * `hops`: how often the work was already passed on by a named process that could not take it.
   */
  async announce(
    models: Iterable<string>,
    reason: WorkReason,
    taskIds: readonly string[] = [],
    hops = 0,
  ): Promise<void> {
    const counts = new Map<string, number>();
    for (const model of models) counts.set(model, (counts.get(model) ?? 0) + 1);
    const command = this.#redis as unknown as AnnounceCommand;
    await Promise.all(
      [...counts].map(([model, count]) =>
        command.wgpAnnounceWork(
          this.#keys.workSignal,
          taskIds.length > 0 && counts.size === 1
            ? (this.#keys.queueKeys(modelQueueName(model)).delayed as string)
            : this.#keys.workSignal,
          this.#keys.serving(model),
          idleRosterKey(this.#keys),
          idleRosterKey(this.#keys, model),
          workBroadcastKey(this.#keys),
          MAX_ENTRIES,
          reason,
          JSON.stringify([model]),
          JSON.stringify(counts.size === 1 ? taskIds : []),
          Math.max(count, counts.size === 1 ? taskIds.length : 0),
          hops,
          MAX_NAMED_TASKS,
          INBOX_MAX_ENTRIES,
          INBOX_TTL_MS,
          // The inbox key of a process is this, then its id: one rule, `workInboxKey`.
          workInboxKey(this.#keys, ""),
        ),
      ),
    );
  }
}

function parseList(json: string): string[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.map(String) : [];
  } catch {
    return [];
  }
}

/** Reads one stream entry's fields (`[name, value, …]`); null for an entry of another shape. */
export function readWorkEntry(fields: readonly string[]): WorkEntry | null {
  const get = (name: string) => {
    for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
    return undefined;
  };
  const reason = get("reason") as WorkReason | undefined;
  const models = get("models");
  if (!reason || models === undefined) return null;
  const at = get("at");
  const tasks = get("tasks");
  const to = get("to");
  return {
    reason,
    models: parseList(models),
    count: Math.max(1, Number(get("count") ?? 1) || 1),
    taskIds: tasks ? parseList(tasks) : [],
    readyAt: at === undefined ? null : Number(at),
    serving: Number(get("serving") ?? 0) || 0,
    to: to === undefined ? null : parseList(to),
    hops: Number(get("hops") ?? 0) || 0,
  };
}
