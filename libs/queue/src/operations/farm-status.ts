import type { FarmConnection } from "../records/farm-connection.js";
import { type FarmCounter, FarmStats } from "../records/farm-stats.js";
import { SlotRegistry, type SlotStatus } from "../records/slot-registry.js";
import { type QueueOverview, readQueueOverviews } from "./queue-overview.js";

/** The whole farm at one moment (`wgp-farm status`, the dashboard's farm view, `/metrics`). */
export interface FarmStatus {
  generated_at: string;
  slots: SlotStatus[];
  /** Every model queue, then the quarantine queue. */
  queues: QueueOverview[];
  /** Farm-wide counters since the Redis was created. */
  counters: Record<FarmCounter, number>;
}

export async function readFarmStatus(farm: FarmConnection, now = Date.now()): Promise<FarmStatus> {
  const [slots, queues, counters] = await Promise.all([
    new SlotRegistry(farm.redis, farm.keys).list(),
    readQueueOverviews(farm, now),
    new FarmStats(farm.redis, farm.keys).read(),
  ]);
  return { generated_at: new Date(now).toISOString(), slots, queues, counters };
}

/** The share of its life a slot spent running jobs (0–1). */
export function slotBusyRatio(slot: SlotStatus, now = Date.now()): number {
  const lifetime = now - Date.parse(slot.started_at);
  return lifetime > 0 ? Math.min(1, Math.max(0, slot.busy_ms / lifetime)) : 0;
}
