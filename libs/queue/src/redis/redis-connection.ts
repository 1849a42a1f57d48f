import { Redis, type RedisOptions } from "ioredis";
import { RedisUnreachableError } from "../errors.js";

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
}

/** The URL with its password hidden, for messages and logs. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return url;
  }
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
  };
}

/**
 * Connects to Redis and proves it answers, within a bounded time: an unreachable Redis is a clear
 * error naming the URL, never a hang.
 */
export async function connectRedis(url: string, options: ConnectRedisOptions = {}): Promise<Redis> {
  const timeoutMs = options.timeoutMs ?? 5000;
  let redis: Redis;
  try {
    redis = new Redis(url, baseOptions(options));
  } catch (error) {
    throw new RedisUnreachableError(`invalid Redis URL ${redactRedisUrl(url)}: ${(error as Error).message}`);
  }
  let lastError: Error | undefined;
  const onError = (error: Error) => {
    lastError = error;
  };
  redis.on("error", onError);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.connect().then(() => redis.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    redis.disconnect();
    const reason = lastError?.message ?? (error as Error).message;
    throw new RedisUnreachableError(
      `cannot reach Redis at ${redactRedisUrl(url)} (${reason}). Start Redis or point REDIS_URL / --redis-url at a running one.`,
    );
  } finally {
    clearTimeout(timer);
    redis.off("error", onError);
  }
  return redis;
}
