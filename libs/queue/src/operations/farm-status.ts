import type { FarmConnection } from "../records/farm-connection.js";
import { type FarmCounter, FarmStats } from "../records/farm-stats.js";
import {
  HostCatalogs,
  type HostWangpSummary,
  hostWangpSummary,
  modelsNoHostKnows,
} from "../records/host-catalogs.js";
import { ModelBacklog } from "../records/model-backlog.js";
import { SlotRegistry, type SlotStatus } from "../records/slot-registry.js";
import { type QueueOverview, readQueueOverviews } from "./queue-overview.js";

/** The whole farm at one moment (`wgp-farm status`, the dashboard's farm view, `/metrics`). */
export interface FarmStatus {
  generated_at: string;
  slots: SlotStatus[];
  /** Every model queue, the stitch queue once a flow used it, then the quarantine queue. */
  queues: QueueOverview[];
  /** Farm-wide counters since the Redis was created. */
  counters: Record<FarmCounter, number>;
  /** The WanGP each live host runs (empty while no engine has reported one). */
  wangp_hosts: HostWangpSummary[];
  /** Models with queued tasks that no live host's WanGP knows: those tasks wait for a host that knows them. */
  models_without_host: string[];
  /** Per model, what an autoscaler scales on. */
  demand: ModelDemand[];
}

/** One model's demand for GPUs: what could start now, how long it has waited, who serves it. */
export interface ModelDemand {
  model: string;
  /** Tasks that could start now: waiting, prioritized, and delayed ones whose time has come. */
  ready: number;
  /** How long the oldest of them has waited (s), or null when none is ready. */
  oldest_wait_s: number | null;
  /** Live slots holding the model (loaded, or loading it). */
  serving_slots: number;
  paused: boolean;
}

/** Every model's demand, in one script call whatever the number of models. */
export async function readModelDemand(farm: FarmConnection, now = Date.now()): Promise<ModelDemand[]> {
  const entries = await new ModelBacklog(farm.redis, farm.keys).read(await farm.queues.knownModels(), now);
  return entries.map((entry) => ({
    model: entry.model,
    ready: entry.ready,
    oldest_wait_s: entry.headAt === null ? null : Math.max(0, (now - entry.headAt) / 1000),
    serving_slots: entry.serving,
    paused: entry.blocked,
  }));
}

export async function readFarmStatus(farm: FarmConnection, now = Date.now()): Promise<FarmStatus> {
  const [slots, queues, counters, hosts, demand] = await Promise.all([
    new SlotRegistry(farm.redis, farm.keys).list(),
    readQueueOverviews(farm, now),
    new FarmStats(farm.redis, farm.keys).read(),
    new HostCatalogs(farm.redis, farm.keys).list(),
    readModelDemand(farm, now),
  ]);
  const queuedModels = queues.flatMap((queue) =>
    queue.model !== null && queue.queued > 0 ? [queue.model] : [],
  );
  return {
    generated_at: new Date(now).toISOString(),
    slots,
    queues,
    counters,
    wangp_hosts: hosts.map(hostWangpSummary),
    models_without_host: modelsNoHostKnows(queuedModels, hosts),
    demand,
  };
}

/** The share of its life a slot spent running jobs (0–1). */
export function slotBusyRatio(slot: SlotStatus, now = Date.now()): number {
  const lifetime = now - Date.parse(slot.started_at);
  return lifetime > 0 ? Math.min(1, Math.max(0, slot.busy_ms / lifetime)) : 0;
}
