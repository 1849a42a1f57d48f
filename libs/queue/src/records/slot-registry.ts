import { readRecord } from "@wgp-farm/config";
import type { Redis } from "ioredis";
import { z } from "zod";
import type { FarmKeys } from "./farm-keys.js";
import { PUBLISH_SLOT_STATUSES_SCRIPT } from "./scripts/publish-slot-statuses.js";
import { TurnBatch } from "./turn-batch.js";

/** A running job's progress, as a slot reports it (`job.updateProgress` and the slot status). */
export const JobProgressSchema = z.object({
  /** WanGP's phase: loading_model, encoding_text, inference, decoding, … (`queued` before the engine starts). */
  phase: z.string(),
  step: z.number().nullable(),
  total: z.number().nullable(),
  /** 0–100, WanGP's estimate (20–90 across denoising). */
  percent: z.number().nullable(),
  /** Seconds left for the whole job (the engine's estimate, else from the step rate); null until known. */
  eta_s: z.number().nullable(),
  /** Sliding window n of N (long videos are made window by window). */
  window: z.number().optional(),
  windows: z.number().optional(),
  slot: z.string(),
});
export type JobProgress = z.output<typeof JobProgressSchema>;

export const SLOT_STATES = [
  "starting",
  "idle",
  "loading",
  "busy",
  "draining",
  "restarting",
  "stopped",
] as const;
export type SlotState = (typeof SLOT_STATES)[number];

/** Slot states that take jobs of the model they hold. */
export const SERVING_STATES: ReadonlySet<SlotState> = new Set(["idle", "loading", "busy", "starting"]);

/**
 * What one GPU slot (one engine on one GPU) publishes about itself, every few seconds and on every
 * change, in `keys.slot(slot_id)` (JSON).
 */
export const SlotStatusSchema = z.object({
  /** `gpu<index>@<host>`: unique by construction. */
  slot_id: z.string(),
  host: z.string(),
  gpu_index: z.number(),
  gpu_name: z.string().nullable(),
  /** The BullMQ worker name (shown as `processedBy` and in Bull Board's workers panel). */
  worker_name: z.string(),
  pid: z.number(),
  state: z.enum(SLOT_STATES),
  loaded_model: z.string().nullable(),
  current: z
    .object({
      task_id: z.string(),
      queue: z.string(),
      started_at: z.string(),
      progress: JobProgressSchema.nullable(),
    })
    .nullable(),
  jobs_done: z.number(),
  jobs_failed: z.number(),
  engine_restarts: z.number(),
  model_switches: z.number(),
  /** Milliseconds spent running jobs since the slot started. */
  busy_ms: z.number(),
  started_at: z.string(),
  last_error: z.object({ at: z.string(), task_id: z.string().nullable(), message: z.string() }).nullable(),
  updated_at: z.string(),
});
export type SlotStatus = z.output<typeof SlotStatusSchema>;

const readStatus = (raw: string | null) => readRecord(SlotStatusSchema, raw, "slot status");

/** The batch script as ioredis defines it: the number of keys, the keys, then the arguments. */
interface PublishStatusesCommand {
  wgpPublishSlotStatuses(numberOfKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
}

/**
 * The live GPU slots of the whole farm. Each slot's status is a key with a TTL that the slot
 * refreshes; a host that dies stops refreshing and drops out of `list` once the TTL passes.
 */
export class SlotRegistry {
  /** The model each slot of this process was last published serving (its `serving` entry). */
  readonly #servingModel = new Map<string, string>();
  /** Statuses published during this event-loop turn, not yet sent. */
  readonly #batch = new TurnBatch<SlotStatus>((statuses) => this.#write(statuses));

  constructor(
    private readonly redis: Redis,
    private readonly keys: FarmKeys,
    readonly ttlMs = 15_000,
  ) {
    // The number of keys varies with the batch: it is passed with each call.
    if (!("wgpPublishSlotStatuses" in redis)) {
      redis.defineCommand("wgpPublishSlotStatuses", { lua: PUBLISH_SLOT_STATUSES_SCRIPT });
    }
  }

  /**
   * Publishes the status, and keeps the per-model count of serving slots (`FarmKeys.serving`) current.
   * Statuses published in the same event-loop turn (a process's slots' heartbeats fire together) go
   * in one script call, in the order they were published: one command per process, not per slot.
   */
  publish(status: SlotStatus): Promise<void> {
    return this.#batch.add(status);
  }

  async #write(statuses: readonly SlotStatus[]): Promise<void> {
    const keys = [this.keys.slots];
    const args: (string | number)[] = [Date.now(), this.ttlMs];
    for (const status of statuses) {
      const serving = SERVING_STATES.has(status.state) ? status.loaded_model : null;
      const previous = this.#servingModel.get(status.slot_id);
      const leaves = previous !== undefined && previous !== serving;
      keys.push(this.keys.slot(status.slot_id));
      if (leaves) keys.push(this.keys.serving(previous));
      if (serving !== null) {
        keys.push(this.keys.serving(serving));
        this.#servingModel.set(status.slot_id, serving);
      } else this.#servingModel.delete(status.slot_id);
      args.push(status.slot_id, JSON.stringify(status), leaves ? 1 : 0, serving !== null ? 1 : 0);
    }
    await (this.redis as unknown as PublishStatusesCommand).wgpPublishSlotStatuses(
      keys.length,
      ...keys,
      ...args,
    );
  }

  /**
   * The status of one slot, or null when it is not (or no longer) registered, or published by a
   * version of wgp-farm that writes another shape (a rolling upgrade).
   */
  async get(slotId: string): Promise<SlotStatus | null> {
    return readStatus(await this.redis.get(this.keys.slot(slotId))) ?? null;
  }

  async remove(slotId: string): Promise<void> {
    const serving = this.#servingModel.get(slotId) ?? (await this.get(slotId))?.loaded_model;
    this.#servingModel.delete(slotId);
    const write = this.redis.multi().del(this.keys.slot(slotId)).zrem(this.keys.slots, slotId);
    if (serving) write.zrem(this.keys.serving(serving), slotId);
    await write.exec();
  }

  /**
   * Every live slot, ordered by slot id; index entries whose status key expired are pruned. A status
   * in another shape (a slot of another version) is left out, not pruned: its slot is alive.
   */
  async list(): Promise<SlotStatus[]> {
    const ids = await this.redis.zrange(this.keys.slots, "0", "-1");
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map((id) => this.keys.slot(id)));
    const live: SlotStatus[] = [];
    const gone: string[] = [];
    values.forEach((raw, i) => {
      if (raw === null) gone.push(ids[i] as string);
      else {
        const status = readStatus(raw);
        if (status) live.push(status);
      }
    });
    if (gone.length > 0) await this.pruneIfStillGone(gone);
    return live.sort((a, b) => a.slot_id.localeCompare(b.slot_id));
  }

  /** A slot may have published again since the read: only ids whose key is still absent are dropped. */
  private async pruneIfStillGone(ids: readonly string[]): Promise<void> {
    const again = await this.redis.mget(ids.map((id) => this.keys.slot(id)));
    const stillGone = ids.filter((_, i) => again[i] === null);
    if (stillGone.length > 0) await this.redis.zrem(this.keys.slots, ...stillGone);
  }
}
