import type { Redis } from "ioredis";
import type { FarmKeys } from "./farm-keys.js";

export const FARM_COUNTERS = [
  "completed",
  "failed",
  "cancelled",
  "quarantined",
  "model_switches",
  "engine_restarts",
  "retried",
  /** Attempts that lost their job (lock expired or taken over) before they could publish. */
  "lost_attempts",
  /** GPU time those attempts spent on work another attempt then did (milliseconds). */
  "wasted_gpu_ms",
] as const;

export type FarmCounter = (typeof FARM_COUNTERS)[number];

/** Farm-wide counters since the Redis was created: workers increment them, the dashboard exports them. */
export class FarmStats {
  constructor(
    private readonly redis: Redis,
    private readonly keys: FarmKeys,
  ) {}

  async increment(name: FarmCounter, by = 1): Promise<void> {
    await this.redis.hincrby(this.keys.stats, name, by);
  }

  /** Every counter, 0 for those never incremented. */
  async read(): Promise<Record<FarmCounter, number>> {
    const stored = await this.redis.hgetall(this.keys.stats);
    return Object.fromEntries(FARM_COUNTERS.map((name) => [name, Number(stored[name] ?? 0)])) as Record<
      FarmCounter,
      number
    >;
  }
}
