import type { Redis } from "ioredis";
import type { FarmKeys } from "./farm-keys.js";

/** A running job's progress, as a slot reports it (`job.updateProgress` and the slot status). */
export interface JobProgress {
  /** WanGP's phase: loading_model, encoding_text, inference, decoding, … (`queued` before the engine starts). */
  phase: string;
  step: number | null;
  total: number | null;
  /** 0–100, WanGP's estimate (20–90 across denoising). */
  percent: number | null;
  /** Seconds left, estimated from the step rate; null until two steps are seen. */
  eta_s: number | null;
  slot: string;
}

export type SlotState = "starting" | "idle" | "loading" | "busy" | "draining" | "restarting" | "stopped";

/** What one GPU slot (one engine on one GPU) publishes about itself, every few seconds and on every change. */
export interface SlotStatus {
  /** `gpu<index>@<host>`: unique by construction. */
  slot_id: string;
  host: string;
  gpu_index: number;
  gpu_name: string | null;
  /** The BullMQ worker name (shown as `processedBy` and in Bull Board's workers panel). */
  worker_name: string;
  pid: number;
  state: SlotState;
  loaded_model: string | null;
  current: { task_id: string; queue: string; started_at: string; progress: JobProgress | null } | null;
  jobs_done: number;
  jobs_failed: number;
  engine_restarts: number;
  model_switches: number;
  /** Milliseconds spent running jobs since the slot started. */
  busy_ms: number;
  started_at: string;
  last_error: { at: string; task_id: string | null; message: string } | null;
  updated_at: string;
}

/**
 * The live GPU slots of the whole farm. Each slot's status is a key with a TTL that the slot
 * refreshes; a host that dies stops refreshing and drops out of `list` once the TTL passes.
 */
export class SlotRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly keys: FarmKeys,
    readonly ttlMs = 15_000,
  ) {}

  async publish(status: SlotStatus): Promise<void> {
    await this.redis
      .multi()
      .set(this.keys.slot(status.slot_id), JSON.stringify(status), "PX", this.ttlMs)
      .zadd(this.keys.slots, Date.now(), status.slot_id)
      .exec();
  }

  /** The status of one slot, or null when it is not (or no longer) registered. */
  async get(slotId: string): Promise<SlotStatus | null> {
    const raw = await this.redis.get(this.keys.slot(slotId));
    return raw === null ? null : (JSON.parse(raw) as SlotStatus);
  }

  async remove(slotId: string): Promise<void> {
    await this.redis.multi().del(this.keys.slot(slotId)).zrem(this.keys.slots, slotId).exec();
  }

  /** Every live slot, ordered by slot id; index entries whose status key expired are pruned. */
  async list(): Promise<SlotStatus[]> {
    const ids = await this.redis.zrange(this.keys.slots, "0", "-1");
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map((id) => this.keys.slot(id)));
    const live: SlotStatus[] = [];
    const gone: string[] = [];
    values.forEach((raw, i) => {
      if (raw === null) gone.push(ids[i] as string);
      else live.push(JSON.parse(raw) as SlotStatus);
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
