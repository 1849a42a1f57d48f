import { type FarmConnection, RedisStore } from "@wgp-farm/queue";
import type { ApiKeys } from "../api-keys.js";
import { ApiError } from "../errors.js";
import { taskStates } from "../tasks/task-states.js";

export interface SubmitLimitOptions {
  /** Submit requests per token per minute. */
  perMinute: number;
  /** Tasks per token that may be waiting or running at once. */
  maxInFlight: number;
}

const MINUTE_MS = 60_000;
const UNFINISHED = new Set(["waiting", "prioritized", "delayed", "active", "waiting-children"]);

/**
 * Reserves room for new tasks, atomically: when it does not fit, the caller prunes the set of
 * finished tasks and asks once more.
 * (Two submits of one token at the same moment may each prune the other's reservation before its
 * tasks exist: under such concurrency the cap is approximate, never unbounded.)
 * KEYS[1] the token's in-flight set; ARGV[1] cap, ARGV[2..] task ids. Returns 1 when reserved.
 */
const RESERVE_SCRIPT = `
local fresh = {}
for i = 2, #ARGV do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 0 then fresh[#fresh + 1] = ARGV[i] end
end
if redis.call('SCARD', KEYS[1]) + #fresh > tonumber(ARGV[1]) then return 0 end
for _, id in ipairs(fresh) do redis.call('SADD', KEYS[1], id) end
return 1
`;

/**
 * A token bucket per token: `perMinute` requests at once, refilled evenly over a minute, on Redis'
 * clock (every API process shares it). KEYS[1] the bucket; ARGV capacity, refill per ms.
 * Returns 0 when the request may go, else the ms until it may.
 */
const TAKE_SCRIPT = `
local capacity, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or capacity
local at = tonumber(bucket[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
if tokens < 1 then return math.ceil((1 - tokens) / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate))
return 0
`;

/**
 * A token's submit budget: a rate per minute (a token bucket) and a cap on its tasks in flight. Both
 * are asked of Redis on every submit, so the caller runs them through `askRedis` (503 when Redis is
 * away: fail closed).
 */
export class SubmitLimits extends RedisStore<ApiKeys> {
  readonly #farm: FarmConnection;
  readonly #options: SubmitLimitOptions;
  readonly #take = this.script<number>("wgpApiTakeSubmit", 1, TAKE_SCRIPT);
  readonly #reserve = this.script<number>("wgpApiReserveInFlight", 1, RESERVE_SCRIPT);

  constructor(farm: FarmConnection, keys: ApiKeys, options: SubmitLimitOptions) {
    super(farm.redis, keys);
    this.#farm = farm;
    this.#options = options;
  }

  /** Takes one submit request from the token's bucket; 429 with Retry-After when it is empty. */
  async countRequest(tokenId: string): Promise<void> {
    const { perMinute } = this.#options;
    const waitMs = await this.#take([this.keys.submitBucket(tokenId)], perMinute, perMinute / MINUTE_MS);
    if (waitMs === 0) return;
    const retryAfterS = Math.max(1, Math.ceil(waitMs / 1000));
    throw new ApiError(
      429,
      "rate_limited",
      `this token may submit ${perMinute} requests a minute; retry in ${retryAfterS} s`,
      { limit_per_minute: perMinute },
      { "Retry-After": String(retryAfterS) },
    );
  }

  /** Reserves in-flight room for these tasks, or refuses them all with a 429. */
  async reserve(tokenId: string, taskIds: readonly string[]): Promise<void> {
    if (taskIds.length === 0) return;
    const key = this.keys.inFlight(tokenId);
    // Pruning reads the state of every task in the set: done only when the cap is in the way, so
    // that a submit below the cap costs one script call, not one lookup per task in flight.
    if (await this.#tryReserve(key, taskIds)) return;
    await this.#prune(key);
    if (await this.#tryReserve(key, taskIds)) return;
    const inFlight = await this.redis.scard(key);
    throw new ApiError(
      429,
      "too_many_in_flight",
      `this token has ${inFlight} tasks waiting or running and may have ${this.#options.maxInFlight}; ` +
        `submit these ${taskIds.length} once some have finished`,
      { in_flight: inFlight, max_in_flight: this.#options.maxInFlight },
      { "Retry-After": "30" },
    );
  }

  async #tryReserve(key: string, taskIds: readonly string[]): Promise<boolean> {
    const reserved = await this.#reserve([key], this.#options.maxInFlight, ...taskIds);
    return reserved === 1;
  }

  /** Gives back the room of tasks that did not go in after all (invalid, or refused by the farm). */
  async release(tokenId: string, taskIds: readonly string[]): Promise<void> {
    if (taskIds.length > 0) await this.redis.srem(this.keys.inFlight(tokenId), ...taskIds);
  }

  /** Drops the tasks that have finished since they were reserved. */
  async #prune(key: string): Promise<void> {
    const members = await this.redis.smembers(key);
    if (members.length === 0) return;
    const states = await taskStates(this.#farm, members);
    const finished = members.filter((_, i) => !UNFINISHED.has(states[i] ?? "unknown"));
    if (finished.length > 0) await this.redis.srem(key, ...finished);
  }
}
