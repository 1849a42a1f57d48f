import type { JobType } from "bullmq";
import type { FarmConnection } from "../records/farm-connection.js";
import { modelOfQueue, QUARANTINE_QUEUE } from "../records/farm-keys.js";
import { isoTime } from "./task-summary.js";

/**
 * The states a queue's depth is counted in, as the farm names them (BullMQ's, with `_` for `-`).
 * `waiting_children`: flow jobs waiting for the jobs they depend on (a stitch for its segments, a
 * post-step for its source).
 */
export const QUEUE_COUNT_STATES = [
  "waiting",
  "prioritized",
  "delayed",
  "active",
  "completed",
  "failed",
  "waiting_children",
] as const;

export type QueueCounts = Record<(typeof QUEUE_COUNT_STATES)[number], number>;

/** One queue at a glance: depth per state, paused or not, and how long its oldest job has waited. */
export interface QueueOverview {
  queue: string;
  /** The model type of a model queue; null for the stitch and quarantine queues. */
  model: string | null;
  paused: boolean;
  counts: QueueCounts;
  /** Waiting + prioritized: jobs ready to run. */
  queued: number;
  oldest_queued_at: string | null;
  oldest_wait_s: number | null;
}

/**
 * How many prioritized jobs to read timestamps from. The prioritized set is ordered by priority, not
 * age, so the oldest job can be anywhere in it; past this many, the answer is a lower bound.
 */
const PRIORITIZED_SAMPLE = 1000;

/** Creation time of the oldest job ready to run (ms), or null when none is. */
async function oldestQueuedAt(farm: FarmConnection, queueName: string): Promise<number | null> {
  const queue = farm.queues.byName(queueName);
  const [oldestWaiting, prioritized] = await Promise.all([
    queue.getRanges(["wait"], 0, 0, true),
    queue.getRanges(["prioritized"], 0, PRIORITIZED_SAMPLE - 1, true),
  ]);
  const ids = [...oldestWaiting, ...prioritized];
  if (ids.length === 0) return null;
  const pipeline = farm.redis.pipeline();
  for (const id of ids) pipeline.hget(queue.toKey(id), "timestamp");
  const replies = (await pipeline.exec()) ?? [];
  const times = replies.map(([, value]) => Number(value)).filter((ms) => Number.isFinite(ms) && ms > 0);
  return times.length > 0 ? Math.min(...times) : null;
}

const bullmqState = (state: (typeof QUEUE_COUNT_STATES)[number]): JobType =>
  state.replace("_", "-") as JobType;

export async function readQueueOverview(
  farm: FarmConnection,
  queueName: string,
  now = Date.now(),
): Promise<QueueOverview> {
  const queue = farm.queues.byName(queueName);
  const [raw, paused, oldest] = await Promise.all([
    queue.getJobCounts(...QUEUE_COUNT_STATES.map(bullmqState)),
    queue.isPaused(),
    oldestQueuedAt(farm, queueName),
  ]);
  const counts = Object.fromEntries(
    QUEUE_COUNT_STATES.map((state) => [state, raw[bullmqState(state)] ?? 0]),
  ) as QueueCounts;
  return {
    queue: queueName,
    model: modelOfQueue(queueName) ?? null,
    paused,
    counts,
    queued: counts.waiting + counts.prioritized,
    oldest_queued_at: isoTime(oldest),
    oldest_wait_s: oldest === null ? null : Math.max(0, Math.round((now - oldest) / 1000)),
  };
}

/** Every queue tasks wait in (the model queues, then the stitch queue), then the quarantine queue. */
export async function readQueueOverviews(farm: FarmConnection, now = Date.now()): Promise<QueueOverview[]> {
  const names = [...(await farm.queues.taskQueueNames()), QUARANTINE_QUEUE];
  return Promise.all(names.map((name) => readQueueOverview(farm, name, now)));
}
