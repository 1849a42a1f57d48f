import { answerWithin } from "@wgp-farm/config";
import type { Redis } from "ioredis";
import { redisUnavailable } from "./errors.js";

/** How long a request's Redis work may take (unless it says otherwise) before it is refused with a 503. */
export const REDIS_ANSWER_MS = 2000;

/**
 * Runs Redis work for a request, failing closed: a connection that is not ready, or work that does
 * not settle in time (a service connection queues commands while it reconnects), is a 503, never a
 * request let through unchecked nor one left hanging.
 */
export async function askRedis<T>(
  redis: Redis,
  what: string,
  work: () => Promise<T>,
  withinMs = REDIS_ANSWER_MS,
): Promise<T> {
  if (redis.status !== "ready") throw redisUnavailable(what);
  return answerWithin(work(), withinMs, () => redisUnavailable(what, true));
}
