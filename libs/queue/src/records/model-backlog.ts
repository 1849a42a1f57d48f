import type { Redis } from "ioredis";
import { type FarmKeys, modelQueueName } from "./farm-keys.js";
import { MODEL_BACKLOG_SCRIPT } from "./scripts/model-backlog.js";

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
}

interface BacklogCommand {
  wgpModelBacklog(...keysAndArgs: (string | number)[]): Promise<(string | number)[]>;
}

/** Every model queue's backlog in one script call, whatever the number of queues. */
export class ModelBacklog {
  readonly #redis: Redis;
  readonly #keys: FarmKeys;

  constructor(redis: Redis, keys: FarmKeys) {
    if (!("wgpModelBacklog" in redis)) {
      redis.defineCommand("wgpModelBacklog", { lua: MODEL_BACKLOG_SCRIPT });
    }
    this.#redis = redis;
    this.#keys = keys;
  }

  /** `selfSlotId`: a slot reading for itself is not counted among the slots serving its model. */
  async read(models: readonly string[], now = Date.now(), selfSlotId = ""): Promise<ModelBacklogEntry[]> {
    if (models.length === 0) return [];
    const keys: string[] = [];
    const prefixes: string[] = [];
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
      prefixes.push(queue[""] as string);
    }
    const flat = await (this.#redis as unknown as BacklogCommand).wgpModelBacklog(
      keys.length,
      ...keys,
      now,
      selfSlotId,
      ...prefixes,
    );
    return models.map((model, i) => {
      const [ready, head, nextDelayed, blocked, claims, serving] = flat.slice(i * 6, i * 6 + 6);
      return {
        model,
        queue: modelQueueName(model),
        ready: Number(ready),
        headAt: head === "" || head === undefined ? null : Number(head),
        nextDelayedAt: nextDelayed === "" || nextDelayed === undefined ? null : Number(nextDelayed),
        blocked: Number(blocked) === 1,
        claims: Number(claims),
        serving: Number(serving),
      };
    });
  }
}
