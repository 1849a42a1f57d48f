/** A fingerprint of every Redis key under a prefix, to prove that a series of requests changed nothing. */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

export type KeyspaceSnapshot = Map<string, string>;

export async function snapshotKeyspace(redis: Redis, prefix: string): Promise<KeyspaceSnapshot> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  const snapshot: KeyspaceSnapshot = new Map();
  for (const key of keys.sort()) {
    const [dump, ttl] = await Promise.all([redis.dumpBuffer(key), redis.pttl(key)]);
    if (!dump) continue;
    snapshot.set(key, `${createHash("sha1").update(dump).digest("hex")}${ttl >= 0 ? " (expires)" : ""}`);
  }
  return snapshot;
}

function expires(value: string | undefined): boolean {
  return value?.endsWith(" (expires)") ?? false;
}

/**
 * Keys added, removed or changed between two snapshots. Keys with a time to live are left out: they
 * are leases and timers that come and go by themselves (BullMQ's `stalled-check`, job locks, slot
 * status), so their turnover says nothing about what a request did; the jobs they belong to are compared.
 */
export function keyspaceChanges(before: KeyspaceSnapshot, after: KeyspaceSnapshot): string[] {
  const changes: string[] = [];
  for (const [key, value] of after) {
    const earlier = before.get(key);
    if (expires(value) || expires(earlier)) continue;
    if (earlier === undefined) changes.push(`added ${key}`);
    else if (earlier !== value) changes.push(`changed ${key}`);
  }
  for (const [key, value] of before) if (!after.has(key) && !expires(value)) changes.push(`removed ${key}`);
  return changes;
}
