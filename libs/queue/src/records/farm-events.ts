import { bestEffort, createLogger, type Logger, readRecord } from "@wgp-farm/config";
import { FARM_EVENT_TYPES, type FarmEventType, type Task } from "@wgp-farm/tasks";
import type { Redis } from "ioredis";
import { z } from "zod";
import { defineScript, type RedisScript } from "../redis/redis-store.js";
import type { FarmConnection } from "./farm-connection.js";
import type { FarmKeys } from "./farm-keys.js";
import { RECORD_EVENTS_SCRIPT } from "./scripts/record-events.js";
import { TurnBatch } from "./turn-batch.js";

/** Entries kept in the event log unless `WGP_FARM_EVENT_LOG_MAX` says otherwise (trimmed approximately). */
export const DEFAULT_EVENT_LOG_MAX = 100_000;

/** Where the task is once the event happened (what `GET /v1/events?state=` filters on). */
export const FARM_EVENT_STATES = [
  "waiting",
  "active",
  "completed",
  "failed",
  "cancelled",
  "quarantined",
] as const;
export type FarmEventState = (typeof FARM_EVENT_STATES)[number];

const STATE_OF_TYPE: Record<FarmEventType, FarmEventState> = {
  queued: "waiting",
  requeued: "waiting",
  started: "active",
  phase: "active",
  progress: "active",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
  quarantined: "quarantined",
  // The task the slot was running, if any, is still active when its engine goes down.
  engine_restart: "active",
};

/**
 * The steps of an engine restart a slot records (`engine_restart` events): the engine died and is
 * restarting (once per start attempt), or is being replaced while healthy (recycling); it is ready
 * again; or the slot gave up starting it.
 */
export const ENGINE_RESTART_STEPS = ["restarting", "recycling", "ready", "gave_up"] as const;
export type EngineRestartStep = (typeof ENGINE_RESTART_STEPS)[number];

/**
 * One farm event as it is stored; every event names its task, model, slot and host (a GPU timeline).
 * An `engine_restart` names the task its slot was running, or none (`""`) between tasks.
 */
export const FarmEventBodySchema = z.object({
  type: z.enum(FARM_EVENT_TYPES),
  task_id: z.string(),
  model: z.string(),
  state: z.enum(FARM_EVENT_STATES),
  at: z.string(),
  slot: z.string().nullable(),
  host: z.string().nullable(),
  /**
   * What the type adds: progress `{phase, percent, step, total, eta_s}`, a manifest summary, an error;
   * `engine_restart`: `{step: restarting|recycling|ready|gave_up, attempt?, delay_ms?, reason?, error?}`.
   */
  data: z.record(z.string(), z.unknown()),
});
export type FarmEventBody = z.output<typeof FarmEventBodySchema>;

/** An event read back from the log: its stream entry id is its SSE id and its webhook id. */
export type FarmEvent = FarmEventBody & { id: string };

export interface FarmEventInput {
  type: FarmEventType;
  task_id: string;
  model: string;
  slot?: string | null;
  host?: string | null;
  /** Overrides the state the type implies (a failed attempt that will be retried is `waiting`). */
  state?: FarmEventState;
  data?: Record<string, unknown>;
}

/** An event with the moment it was recorded (it is written at the end of that event-loop turn). */
type StampedEventInput = FarmEventInput & { at: string };

/** A stream entry as ioredis returns it: `[id, [field, value, …]]`. */
export type StreamEntry = [string, string[]];

/** The log's configured cap (env `WGP_FARM_EVENT_LOG_MAX`), else the default. */
export function eventLogMax(env: NodeJS.ProcessEnv = process.env): number {
  const configured = Number(env.WGP_FARM_EVENT_LOG_MAX);
  return Number.isInteger(configured) && configured > 0 ? configured : DEFAULT_EVENT_LOG_MAX;
}

/** Stream ids compare by their two numbers, never as text. */
export function compareEventIds(a: string, b: string): number {
  const [aMs = 0n, aSeq = 0n] = a.split("-").map(BigInt);
  const [bMs = 0n, bSeq = 0n] = b.split("-").map(BigInt);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  if (aSeq !== bSeq) return aSeq < bSeq ? -1 : 1;
  return 0;
}

export function isEventId(value: string): boolean {
  return /^\d{1,20}-\d{1,20}$/.test(value);
}

const SHARED = new WeakMap<FarmConnection, FarmEvents>();

/**
 * The farm's event log: one capped Redis stream written by whoever makes a task's transition (the
 * importer, the slot) and read by the API's server-sent events and the webhook dispatcher. Writing
 * never throws into the caller: an event that cannot be written is logged and the task goes on.
 */
export class FarmEvents {
  readonly #redis: Redis;
  readonly #keys: FarmKeys;
  readonly #maxLen: string;
  readonly #logger: Logger;
  readonly #recordMany: RedisScript<number>;
  /** Events recorded during this event-loop turn, not yet sent. */
  readonly #batch = new TurnBatch<StampedEventInput>((inputs) => this.#write(inputs));

  constructor(redis: Redis, keys: FarmKeys, options: { maxLen?: number; logger?: Logger } = {}) {
    this.#redis = redis;
    this.#keys = keys;
    this.#maxLen = String(options.maxLen ?? eventLogMax());
    this.#logger = options.logger ?? createLogger({ name: "farm-events" });
    this.#recordMany = defineScript(redis, "wgpRecordFarmEvents", 1, RECORD_EVENTS_SCRIPT);
  }

  /** The process's writer for a farm connection (the hooks in the importer and the slots use it). */
  static of(farm: FarmConnection): FarmEvents {
    let events = SHARED.get(farm);
    if (!events) {
      events = new FarmEvents(farm.redis, farm.keys);
      SHARED.set(farm, events);
    }
    return events;
  }

  get redis(): Redis {
    return this.#redis;
  }

  get key(): string {
    return this.#keys.farmEvents;
  }

  /**
   * Appends one event; resolves once it is written (or its failure logged). Events recorded in the
   * same event-loop turn (slots ending their jobs on the same Redis reply) are written with one
   * command, in the order they were recorded.
   */
  record(input: FarmEventInput): Promise<void> {
    return this.#batch.add({ ...input, at: new Date().toISOString() });
  }

  async #write(inputs: readonly StampedEventInput[]): Promise<void> {
    const [only] = inputs;
    if (inputs.length === 1 && only) {
      await bestEffort(
        this.#redis.xadd(this.key, "MAXLEN", "~", this.#maxLen, "*", "event", JSON.stringify(bodyOf(only))),
        this.#logger,
        `recording the '${only.type}' event of task ${only.task_id}`,
        "warn",
      );
      return;
    }
    const bodies = inputs.map((input) => JSON.stringify(bodyOf(input)));
    await bestEffort(
      this.#recordMany([this.key], this.#maxLen, ...bodies),
      this.#logger,
      `recording ${inputs.length} events (${[...new Set(inputs.map((input) => input.type))].join(", ")})`,
      "warn",
    );
  }

  /** Tasks that went into their queues: a `queued` event each, and the webhooks they asked for. */
  async queued(tasks: readonly Task[]): Promise<void> {
    if (tasks.length === 0) return;
    const pipeline = this.#redis.pipeline();
    for (const task of tasks) {
      if (task.webhook) pipeline.hset(this.#keys.taskWebhooks, task.task_id, JSON.stringify(task.webhook));
      const body = bodyOf({ type: "queued", task_id: task.task_id, model: task.model });
      pipeline.xadd(this.key, "MAXLEN", "~", this.#maxLen, "*", "event", JSON.stringify(body));
    }
    await bestEffort(pipeline.exec(), this.#logger, `recording ${tasks.length} queued events`, "warn");
  }

  /** Entries after `afterId` (exclusive), oldest first. */
  async after(afterId: string, count: number): Promise<FarmEvent[]> {
    const entries = (await this.#redis.xrange(this.key, `(${afterId}`, "+", "COUNT", count)) as StreamEntry[];
    return parseEntries(entries, this.#logger);
  }

  /** Whether the entry `id` is still in the log. */
  async has(id: string): Promise<boolean> {
    return ((await this.#redis.xrange(this.key, id, id)) as StreamEntry[]).length > 0;
  }

  /** The id of the oldest entry still in the log, or null when it is empty. */
  async firstId(): Promise<string | null> {
    const [first] = (await this.#redis.xrange(this.key, "-", "+", "COUNT", 1)) as StreamEntry[];
    return first?.[0] ?? null;
  }

  /** The id of the newest entry, or null when the log is empty. */
  async lastId(): Promise<string | null> {
    const [last] = (await this.#redis.xrevrange(this.key, "+", "-", "COUNT", 1)) as StreamEntry[];
    return last?.[0] ?? null;
  }
}

/** `at`: when the event happened, if it was not just now (an event recorded earlier in its batch). */
function bodyOf(input: FarmEventInput & { at?: string }): FarmEventBody {
  return {
    type: input.type,
    task_id: input.task_id,
    model: input.model,
    state: input.state ?? STATE_OF_TYPE[input.type],
    at: input.at ?? new Date().toISOString(),
    slot: input.slot ?? null,
    host: input.host ?? null,
    data: input.data ?? {},
  };
}

/** Events of stream entries; an entry in a shape this version does not know is skipped (and logged once). */
export function parseEntries(entries: readonly StreamEntry[], logger?: Logger): FarmEvent[] {
  const events: FarmEvent[] = [];
  for (const [id, fields] of entries) {
    // A pending entry trimmed from the log comes back without fields.
    if (!Array.isArray(fields)) continue;
    const at = fields.indexOf("event");
    const raw = at >= 0 ? fields[at + 1] : undefined;
    const body = readRecord(FarmEventBodySchema, raw, "farm event", logger);
    if (body) events.push({ id, ...body });
  }
  return events;
}
