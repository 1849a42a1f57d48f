import { answerWithin, createLogger, type Logger } from "@wgp-farm/config";
import { Redis, type RedisOptions } from "ioredis";
import { RedisUnreachableError } from "../errors.js";
import { RedisOutageWatch } from "./redis-outage-watch.js";
import { redactRedisUrl, redisTargetOf } from "./redis-url.js";

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

export interface ConnectRedisOptions {
  /** How long to wait for the first PING (default 5 s). */
  timeoutMs?: number;
  /**
   * `command`: a short-lived CLI command that must fail fast.
   * `service`: a long-running process (worker, dashboard) that reconnects forever after the first
   * successful connection; BullMQ needs `maxRetriesPerRequest: null` for it.
   */
  role?: "command" | "service";
  /** ioredis connection name (shows in CLIENT LIST and Bull Board's workers panel). */
  connectionName?: string;
  /** Where Redis outages are logged (one line when one begins, one when it ends). */
  logger?: Logger;
}

function baseOptions(options: ConnectRedisOptions): RedisOptions {
  const service = options.role === "service";
  return {
    lazyConnect: true,
    connectTimeout: options.timeoutMs ?? 5000,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    ...(options.connectionName ? { connectionName: options.connectionName } : {}),
    // A command gives up at once; a service keeps trying, backing off to 5 s between attempts.
    retryStrategy: service ? (attempt) => Math.min(250 * attempt, 5000) : () => null,
    // The same when every Sentinel is unreachable (ignored without Sentinels).
    sentinelRetryStrategy: service ? (attempt) => Math.min(250 * attempt, 5000) : () => null,
  };
}

/**
 * Connects to Redis and proves it answers, within a bounded time: an unreachable Redis is a clear
 * error naming the URL, never a hang. A `redis+sentinel://` URL asks its Sentinels for the primary,
 * and so does every duplicate of the connection (BullMQ's blocking connections included).
 */
export async function connectRedis(url: string, options: ConnectRedisOptions = {}): Promise<Redis> {
  const timeoutMs = options.timeoutMs ?? 5000;
  let redis: Redis;
  try {
    const target = redisTargetOf(url);
    redis =
      target.kind === "sentinel"
        ? new Redis({ ...target.options, ...baseOptions(options) })
        : new Redis(target.url, baseOptions(options));
  } catch (error) {
    throw new RedisUnreachableError(`invalid Redis URL ${redactRedisUrl(url)}: ${(error as Error).message}`);
  }
  let lastError: Error | undefined;
  const onError = (error: Error) => {
    lastError = error;
  };
  redis.on("error", onError);
  try {
    await answerWithin(
      redis.connect().then(() => redis.ping()),
      timeoutMs,
      () => new Error(`no answer within ${timeoutMs} ms`),
    );
  } catch (error) {
    redis.disconnect();
    const reason = lastError?.message ?? (error as Error).message;
    throw new RedisUnreachableError(
      `cannot reach Redis at ${redactRedisUrl(url)} (${reason}). Start Redis or point REDIS_URL / --redis-url at a running one.`,
    );
  } finally {
    redis.off("error", onError);
  }
  new RedisOutageWatch(options.logger ?? createLogger({ name: "redis" }), redactRedisUrl(url)).watch(
    redis,
    options.connectionName ?? "commands",
  );
  return redis;
}

/**
 * For the `error` event of what is built on a connection from `connectRedis` (BullMQ Queues and
 * Workers re-emit their connection's errors): during an outage they are counted, not printed.
 */
export function redisErrorListener(redis: Redis, what: string): (error: Error) => void {
  const watch =
    RedisOutageWatch.of(redis) ??
    new RedisOutageWatch(createLogger({ name: "redis" }), "a connection not opened by connectRedis");
  return watch.errorListener(what);
}

/** Whether the process's Redis is away right now (an outage logged and not yet over). */
export function redisIsDown(redis: Redis): boolean {
  return RedisOutageWatch.of(redis)?.down ?? redis.status !== "ready";
}
