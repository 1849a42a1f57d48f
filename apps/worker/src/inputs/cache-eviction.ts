import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { removeUnlessInUse } from "@wgp-farm/host";
import type { CacheIndex } from "./cache-index.js";

const CONTENT_NAME = /^[0-9a-f]{64}$/;

export interface EvictionLimits {
  dir: string;
  maxBytes: number;
  maxAgeMs: number;
}

export interface EvictionResult {
  /** sha256 of each input removed. */
  removed: string[];
  /** What the cache holds afterwards. */
  bytes: number;
  /** Inputs that were due but held by a running job. */
  inUse: number;
}

/**
 * Removes cached inputs, least recently used first (the modification time is the last use): every
 * one unused for longer than the age limit, then as many as it takes to fit the size limit. A file a
 * running job holds is never removed (it may still leave the cache over its limit for a while).
 */
export async function evictInputs(limits: EvictionLimits, index: CacheIndex): Promise<EvictionResult> {
  const names = (await readdir(limits.dir)).filter((name) => CONTENT_NAME.test(name));
  const files = [];
  for (const name of names) {
    const info = await stat(path.join(limits.dir, name)).catch(() => undefined);
    if (info?.isFile()) files.push({ name, size: info.size, lastUse: info.mtimeMs });
  }
  files.sort((a, b) => a.lastUse - b.lastUse);
  let bytes = files.reduce((sum, file) => sum + file.size, 0);
  const now = Date.now();
  const result: EvictionResult = { removed: [], bytes, inUse: 0 };
  const present = new Set(files.map((file) => file.name));
  for (const file of files) {
    if (now - file.lastUse <= limits.maxAgeMs && bytes <= limits.maxBytes) break;
    if (await removeUnlessInUse(path.join(limits.dir, file.name))) {
      bytes -= file.size;
      present.delete(file.name);
      result.removed.push(file.name);
    } else {
      result.inUse++;
    }
  }
  result.bytes = bytes;
  if (result.removed.length > 0) await index.sweep(present);
  return result;
}
