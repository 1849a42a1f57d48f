import type { Redis } from "ioredis";
import { defineScript, type RedisScript } from "../redis/redis-store.js";
import { type FarmKeys, modelQueueName } from "./farm-keys.js";
import { MODEL_BACKLOG_SCRIPT, RECORD_MODEL_TIMES_SCRIPT } from "./scripts/model-backlog.js";

/** One model queue at a moment: what the scheduler decides on and what an autoscaler scales on. */
export interface ModelBacklogEntry {
  model: string;
  queue: string;
  /** Jobs that can start now: waiting, prioritized, and delayed jobs whose time has come. */
  ready: number;
  /** Creation time of the oldest job that can start now (epoch ms), or null when none can. */
  headAt: number | null;
  /** When the next delayed job (a retry in backoff) becomes ready (epoch ms), or null. */
  nextDelayedAt: number | null;
  /** Paused, or at its global concurrency: it hands out no job now. */
  blocked: boolean;
  /** Slots (anywhere) that claimed this model and are about to load it. */
  claims: number;
  /** Live slots holding this model (loaded or loading), as they last published; the reader excluded. */
  serving: number;
  /** The model's typical load time (ms), from the engines' reports; null until a slot loaded it. */
  loadMs: number | null;
  /** The model's typical job (generation) time (ms); null until a job of it completed. */
  jobMs: number | null;
  /** The model's jobs being run now. */
  running: number;
  /**
   * When the running job started (epoch ms) whose slot takes the last ready job that no claimant
   * takes, if no other slot helps (the running slots take the ready jobs in the order they started theirs); null: none.
   */
  tailStartedAt: number | null;
}

interface BacklogCommand {
  wgpModelBacklog(...keysAndArgs: (string | number)[]): Promise<(string | number)[]>;
}

/** What an engine measured of one completed job (ms). */
export interface JobTimes {
  /** 0 when the model was already loaded. */
  loadMs: number;
  generationMs: number;
}

const FIELDS_PER_MODEL = 10;

function msOrNull(value: string | number | undefined): number | null {
  return value === "" || value === undefined ? null : Number(value);
}

/**
 * Every model queue's backlog in one script call, whatever the number of queues, with each model's
 * typical load and job times (one hash field each, kept by `recordJob`).
 */
export class ModelBacklog {
  readonly #redis: Redis;
  readonly #keys: FarmKeys;
  readonly #recordTimes: RedisScript<unknown>;

  constructor(redis: Redis, keys: FarmKeys) {
    if (!("wgpModelBacklog" in redis)) {
      redis.defineCommand("wgpModelBacklog", { lua: MODEL_BACKLOG_SCRIPT });
    }
    this.#redis = redis;
    this.#keys = keys;
    this.#recordTimes = defineScript(redis, "wgpRecordModelTimes", 1, RECORD_MODEL_TIMES_SCRIPT);
  }

  /** Folds a completed job's times into its model's typical ones. */
  async recordJob(model: string, times: JobTimes): Promise<void> {
    await this.#recordTimes(
      [this.#keys.modelTimings],
      model,
      Math.max(0, Math.round(times.loadMs)),
      Math.max(0, Math.round(times.generationMs)),
    );
  }

  /** `selfSlotId`: a slot reading for itself is not counted among the slots serving its model. */
  async read(models: readonly string[], now = Date.now(), selfSlotId = ""): Promise<ModelBacklogEntry[]> {
    return (await this.readFarm(models, now, selfSlotId)).entries;
  }

  /**
   * `read`, with the farm's live slots: those that published their status since `liveSinceMs` (the
   * slot status TTL ago; the reader included). Still one script call.
   */
  async readFarm(
    models: readonly string[],
    now = Date.now(),
    selfSlotId = "",
    liveSinceMs = now,
  ): Promise<{ entries: ModelBacklogEntry[]; liveSlots: number }> {
    if (models.length === 0) return { entries: [], liveSlots: 0 };
    const keys: string[] = [];
    const perModel: string[] = [];
    for (const model of models) {
      const queue = this.#keys.queueKeys(modelQueueName(model));
      keys.push(
        queue.wait as string,
        queue.prioritized as string,
        queue.delayed as string,
        queue.meta as string,
        queue.active as string,
        this.#keys.switchClaims(model),
        this.#keys.serving(model),
      );
      // The queue's own prefix, from which the script builds job keys.
      perModel.push(queue[""] as string, model);
    }
    keys.push(this.#keys.modelTimings, this.#keys.slots);
    const flat = await (this.#redis as unknown as BacklogCommand).wgpModelBacklog(
      keys.length,
      ...keys,
      now,
      selfSlotId,
      liveSinceMs,
      ...perModel,
    );
    const entries = models.map((model, i) => {
      const [ready, head, nextDelayed, blocked, claims, serving, loadMs, jobMs, running, tailStart] =
        flat.slice(i * FIELDS_PER_MODEL, (i + 1) * FIELDS_PER_MODEL);
      return {
        model,
        queue: modelQueueName(model),
        ready: Number(ready),
        headAt: msOrNull(head),
        nextDelayedAt: msOrNull(nextDelayed),
        blocked: Number(blocked) === 1,
        claims: Number(claims),
        serving: Number(serving),
        loadMs: msOrNull(loadMs),
        jobMs: msOrNull(jobMs),
        running: Number(running),
        tailStartedAt: msOrNull(tailStart),
      };
    });
    return { entries, liveSlots: Number(flat.at(-1)) };
  }
}
