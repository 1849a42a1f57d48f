import type { RedisOptions } from "ioredis";

/** The scheme of a Redis reached through Sentinel: `redis+sentinel://…` (see `parseSentinelUrl`). */
export const SENTINEL_SCHEME = "redis+sentinel:";

/** Where to connect: a plain `redis://` / `rediss://` / socket URL as ioredis reads it, or Sentinel options. */
export type RedisTarget = { kind: "url"; url: string } | { kind: "sentinel"; options: RedisOptions };

const DEFAULT_SENTINEL_PORT = 26379;

export function isSentinelUrl(url: string): boolean {
  return url.toLowerCase().startsWith(`${SENTINEL_SCHEME}//`);
}

function decoded(text: string | undefined): string | undefined {
  return text === undefined || text === "" ? undefined : decodeURIComponent(text);
}

function sentinelAddress(entry: string): { host: string; port: number } {
  // An IPv6 address is written in brackets: [::1]:26379.
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry);
  if (!match?.[1]) throw new Error(`'${entry}' is not host[:port]`);
  return {
    host: match[1].replace(/^\[|\]$/g, ""),
    port: match[2] ? Number(match[2]) : DEFAULT_SENTINEL_PORT,
  };
}

/**
 * `redis+sentinel://[[user]:password@]host[:port][,host[:port]…]/master-name[?db=N&sentinelPassword=…]`:
 * the Sentinels to ask (port 26379 unless given), the name they monitor the primary by, the password
 * of the Redis servers (in the user-info part, URL-encoded) and, when the Sentinels have one of their
 * own, `sentinelPassword`. WHATWG's URL cannot read a list of hosts, hence this parser.
 */
export function parseSentinelUrl(url: string): RedisOptions {
  const match = /^redis\+sentinel:\/\/(?:([^@/]*)@)?([^/?#]+)\/([^/?#]+)\/?(?:\?([^#]*))?$/i.exec(url);
  if (!match) {
    throw new Error(
      "a Sentinel URL reads redis+sentinel://[:password@]host:26379[,host:26379…]/<master-name>[?db=0&sentinelPassword=…]",
    );
  }
  const [, userInfo, hosts = "", masterName = "", query] = match;
  const colon = userInfo?.indexOf(":") ?? -1;
  const username = decoded(colon >= 0 ? userInfo?.slice(0, colon) : userInfo);
  const password = decoded(colon >= 0 ? userInfo?.slice(colon + 1) : undefined);
  const params = new URLSearchParams(query ?? "");
  const db = params.get("db");
  if (db !== null && !/^\d+$/.test(db)) throw new Error(`db=${db} is not a database number`);
  const sentinelPassword = params.get("sentinelPassword") ?? undefined;
  return {
    sentinels: hosts.split(",").map(sentinelAddress),
    name: decodeURIComponent(masterName),
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(sentinelPassword ? { sentinelPassword } : {}),
    ...(db !== null ? { db: Number(db) } : {}),
    // A client still on a primary that was demoted (and so refuses writes) reconnects and asks the
    // Sentinels again. (ioredis' failoverDetector would cost every connection three more, to the Sentinels.)
    reconnectOnError: (error) => (error.message.startsWith("READONLY") ? 2 : false),
  };
}

/** Reads a REDIS_URL once, for every kind of process: a plain URL, or the Sentinel form. */
export function redisTargetOf(url: string): RedisTarget {
  return isSentinelUrl(url) ? { kind: "sentinel", options: parseSentinelUrl(url) } : { kind: "url", url };
}

/** The URL with its passwords hidden, for messages and logs. */
export function redactRedisUrl(url: string): string {
  if (isSentinelUrl(url)) {
    return url
      .replace(/^(redis\+sentinel:\/\/[^:@/]*:)[^@/]*@/i, "$1***@")
      .replace(/([?&]sentinelPassword=)[^&#]*/g, "$1***");
  }
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return url;
  }
}
