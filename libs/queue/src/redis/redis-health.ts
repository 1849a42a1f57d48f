import type { Redis } from "ioredis";
import { isSentinelUrl, parseSentinelUrl } from "./redis-url.js";

/** What INFO says about a Redis server (INFO, not CONFIG: managed Redis services often forbid CONFIG). */
export interface RedisServerFacts {
  version: string;
  /** `standalone`, `sentinel` or `cluster`. */
  mode: string;
  clusterEnabled: boolean;
  /** `master`, or `slave` for a read-only replica. */
  role: string;
  connectedReplicas: number;
  aofEnabled: boolean;
  /** False after a failed AOF write or rewrite (disk full, permissions). */
  aofHealthy: boolean;
  maxmemoryBytes: number;
  maxmemoryPolicy: string;
  usedMemoryBytes: number;
}

/** One verdict about the server, with what to do about it. */
export interface RedisFinding {
  id: string;
  status: "ok" | "warn" | "fail";
  summary: string;
  fix?: string;
}

/** BullMQ refuses Redis below 5.0.0 and warns below 6.2.0 (RedisConnection.minimumVersion). */
export const REDIS_MINIMUM_VERSION = "5.0.0";
export const REDIS_RECOMMENDED_VERSION = "6.2.0";

export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

export async function readRedisFacts(redis: Redis): Promise<RedisServerFacts> {
  const info = parseInfo(await redis.info("everything"));
  const number = (key: string) => Number(info.get(key) ?? 0);
  return {
    version: info.get("redis_version") ?? "0.0.0",
    mode: info.get("redis_mode") ?? "standalone",
    clusterEnabled: info.get("cluster_enabled") === "1",
    role: info.get("role") ?? "master",
    connectedReplicas: number("connected_slaves"),
    aofEnabled: info.get("aof_enabled") === "1",
    aofHealthy:
      info.get("aof_last_write_status") !== "err" && info.get("aof_last_bgrewrite_status") !== "err",
    maxmemoryBytes: number("maxmemory"),
    maxmemoryPolicy: info.get("maxmemory_policy") ?? "noeviction",
    usedMemoryBytes: number("used_memory"),
  };
}

export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.split(".").map((n) => Number.parseInt(n, 10) || 0);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const diff = (x[i] ?? 0) - (y[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

/** A key prefix that starts with a hash tag (`{wgp}`) keeps every key of the farm in one Cluster slot. */
export function hasHashTag(prefix: string): boolean {
  return /^\{[^{}]+\}/.test(prefix);
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "::1", "[::1]"]);

function versionFinding(facts: RedisServerFacts): RedisFinding {
  if (compareVersions(facts.version, REDIS_MINIMUM_VERSION) < 0) {
    return {
      id: "redis-version",
      status: "fail",
      summary: `Redis ${facts.version} is too old: BullMQ needs ${REDIS_MINIMUM_VERSION} or newer`,
      fix: `upgrade Redis to ${REDIS_RECOMMENDED_VERSION} or newer (7.x recommended)`,
    };
  }
  if (compareVersions(facts.version, REDIS_RECOMMENDED_VERSION) < 0) {
    return {
      id: "redis-version",
      status: "warn",
      summary: `Redis ${facts.version} works, but BullMQ recommends ${REDIS_RECOMMENDED_VERSION} or newer`,
      fix: "upgrade Redis (7.x recommended)",
    };
  }
  return { id: "redis-version", status: "ok", summary: `Redis ${facts.version} (${facts.mode})` };
}

function roleFinding(facts: RedisServerFacts): RedisFinding {
  if (facts.role !== "master") {
    return {
      id: "redis-role",
      status: "fail",
      summary: "this Redis is a read-only replica: workers cannot take jobs from it",
      fix: "point REDIS_URL at the primary; with Sentinel, let the Sentinels find it: redis+sentinel://host:26379,…/<master-name> (docs/operations.md)",
    };
  }
  return {
    id: "redis-role",
    status: "ok",
    summary: `primary with ${facts.connectedReplicas} replica${facts.connectedReplicas === 1 ? "" : "s"}`,
  };
}

function persistenceFinding(facts: RedisServerFacts): RedisFinding {
  if (!facts.aofHealthy) {
    return {
      id: "redis-persistence",
      status: "fail",
      summary: "Redis failed to write its append-only file: writes may be refused and jobs lost",
      fix: "check the Redis log and the disk of its data folder (full disk, permissions)",
    };
  }
  if (!facts.aofEnabled) {
    return {
      id: "redis-persistence",
      status: "warn",
      summary: "AOF is off: a Redis restart loses every job queued or finished since the last snapshot",
      fix: "set `appendonly yes` and `appendfsync everysec` (infra/redis/redis.conf), or at runtime: CONFIG SET appendonly yes, then CONFIG REWRITE",
    };
  }
  return { id: "redis-persistence", status: "ok", summary: "AOF on" };
}

function evictionFinding(facts: RedisServerFacts): RedisFinding {
  const fix =
    "set `maxmemory-policy noeviction` (infra/redis/redis.conf, or CONFIG SET maxmemory-policy noeviction); give Redis enough memory instead";
  if (facts.maxmemoryPolicy !== "noeviction" && facts.maxmemoryBytes > 0) {
    return {
      id: "redis-eviction",
      status: "fail",
      summary: `maxmemory-policy is ${facts.maxmemoryPolicy} with a memory limit: Redis will delete queue keys when full, corrupting jobs`,
      fix,
    };
  }
  if (facts.maxmemoryPolicy !== "noeviction") {
    return {
      id: "redis-eviction",
      status: "warn",
      summary: `maxmemory-policy is ${facts.maxmemoryPolicy}: harmless while maxmemory is 0 (no limit), destructive once a limit is set`,
      fix,
    };
  }
  const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;
  if (facts.maxmemoryBytes > 0 && facts.usedMemoryBytes > 0.8 * facts.maxmemoryBytes) {
    return {
      id: "redis-eviction",
      status: "warn",
      summary: `noeviction, but ${mib(facts.usedMemoryBytes)} of ${mib(facts.maxmemoryBytes)} used: at the limit Redis refuses writes and imports fail`,
      fix: "raise maxmemory, or keep fewer finished jobs (wgp-farm clean --state completed --older-than 7d)",
    };
  }
  const limit =
    facts.maxmemoryBytes > 0 ? `, ${mib(facts.usedMemoryBytes)} of ${mib(facts.maxmemoryBytes)} used` : "";
  return { id: "redis-eviction", status: "ok", summary: `noeviction${limit}` };
}

function clusterFinding(facts: RedisServerFacts, prefix: string): RedisFinding | undefined {
  if (!facts.clusterEnabled) return undefined;
  if (!hasHashTag(prefix)) {
    return {
      id: "redis-cluster",
      status: "fail",
      summary: `Redis Cluster, but the key prefix '${prefix}' has no hash tag: BullMQ's scripts touch keys in several slots and fail`,
      fix: "use a hash-tag prefix on every host and the dashboard: --prefix '{wgp}' (WGP_FARM_PREFIX={wgp})",
    };
  }
  return { id: "redis-cluster", status: "ok", summary: `Redis Cluster with hash-tag prefix ${prefix}` };
}

/**
 * A password travels in the URL; a Redis that let us in without one, reached over the network, is
 * open to anyone who can reach it, and without TLS its traffic can be read.
 */
function exposureFinding(url: string): RedisFinding {
  const address = addressOf(url);
  if (!address) return { id: "redis-security", status: "ok", summary: "not checked (URL not parsed)" };
  if (address.hosts.every((host) => LOOPBACK.has(host))) {
    return { id: "redis-security", status: "ok", summary: "loopback address" };
  }
  const problems: string[] = [];
  if (!address.password) problems.push("it accepted a connection without a password");
  if (!address.tls) problems.push("the connection is not encrypted");
  if (problems.length === 0) return { id: "redis-security", status: "ok", summary: "password and TLS" };
  return {
    id: "redis-security",
    status: "warn",
    summary: `Redis at ${address.hosts.join(", ")} is reached over the network and ${problems.join(" and ")}`,
    fix: "set `requirepass` (infra/redis/redis.conf) and put it in the URL (redis://:PASSWORD@host:6379); across untrusted networks use TLS (rediss://)",
  };
}

/** The hosts a URL reaches (the Sentinels of a Sentinel URL), whether it carries a password, and TLS. */
function addressOf(url: string): { hosts: string[]; password: boolean; tls: boolean } | undefined {
  try {
    if (isSentinelUrl(url)) {
      const options = parseSentinelUrl(url);
      return {
        hosts: (options.sentinels ?? []).map((sentinel) => sentinel.host ?? ""),
        password: Boolean(options.password),
        tls: false,
      };
    }
    const parsed = new URL(url);
    return {
      hosts: [parsed.hostname],
      password: Boolean(parsed.password),
      tls: parsed.protocol === "rediss:",
    };
  } catch {
    return undefined;
  }
}

/** Is this Redis fit to hold the farm's queues? One finding per aspect, each with its fix. */
export function assessRedisForQueue(
  facts: RedisServerFacts,
  context: { url: string; prefix: string },
): RedisFinding[] {
  const findings = [
    versionFinding(facts),
    roleFinding(facts),
    persistenceFinding(facts),
    evictionFinding(facts),
    clusterFinding(facts, context.prefix),
    exposureFinding(context.url),
  ];
  return findings.filter((finding): finding is RedisFinding => finding !== undefined);
}
