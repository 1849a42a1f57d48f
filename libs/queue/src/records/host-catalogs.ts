import { readRecord } from "@wgp-farm/config";
import {
  KNOWN_MODEL_TYPES,
  WANGP_CATALOG,
  WANGP_MEDIA_KEYS,
  WANGP_SETTING_NAMES,
  type WangpKnowledge,
} from "@wgp-farm/tasks";
import type { Redis } from "ioredis";
import { z } from "zod";
import type { FarmConnection } from "./farm-connection.js";
import type { FarmKeys } from "./farm-keys.js";

/**
 * What the WanGP of one host knows, as its engine reported it when ready (`ready.wangp.catalog` and
 * the pre-flight): one record per host and WanGP checkout, whichever of its slots published last.
 */
export const HostCatalogSchema = z.object({
  host: z.string(),
  wangp_root: z.string(),
  version: z.string().nullable(),
  mmgp_version: z.string().nullable(),
  settings_version: z.union([z.number(), z.string()]).nullable(),
  model_types: z.array(z.string()),
  setting_names: z.array(z.string()),
  media_keys: z.array(z.string()),
  /** The pre-flight's verdict and the messages of its checks that did not pass. */
  preflight: z.object({ ok: z.boolean(), problems: z.array(z.string()) }).nullable(),
  /** The slot that published it last (every slot of the host publishes the same checkout). */
  slot_id: z.string(),
  updated_at: z.string(),
});
export type HostCatalog = z.output<typeof HostCatalogSchema>;

const readCatalog = (raw: string | null) => readRecord(HostCatalogSchema, raw, "host WanGP catalog");

/** The id of a host's catalog: one per host and WanGP checkout. */
export function hostCatalogId(host: string, wangpRoot: string): string {
  return `${host}:${wangpRoot}`;
}

/**
 * The WanGP each live host runs. The records expire like slot statuses: a host whose slots stop
 * refreshing drops out, so "known to a live host" means what it says.
 */
export class HostCatalogs {
  constructor(
    private readonly redis: Redis,
    private readonly keys: FarmKeys,
    readonly ttlMs = 15_000,
  ) {}

  async publish(catalog: HostCatalog): Promise<void> {
    const id = hostCatalogId(catalog.host, catalog.wangp_root);
    await this.redis
      .multi()
      .set(this.keys.wangpHost(id), JSON.stringify(catalog), "PX", this.ttlMs)
      .zadd(this.keys.wangpHosts, Date.now(), id)
      .exec();
  }

  /** Every live host's catalog, by host then root; expired index entries are pruned. */
  async list(): Promise<HostCatalog[]> {
    const ids = await this.redis.zrange(this.keys.wangpHosts, "0", "-1");
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map((id) => this.keys.wangpHost(id)));
    const gone = ids.filter((_, i) => values[i] === null);
    if (gone.length > 0) await this.#pruneIfStillGone(gone);
    return values
      .flatMap((raw) => (raw === null ? [] : [readCatalog(raw)].filter((c) => c !== undefined)))
      .sort((a, b) => a.host.localeCompare(b.host) || a.wangp_root.localeCompare(b.wangp_root));
  }

  async #pruneIfStillGone(ids: readonly string[]): Promise<void> {
    const again = await this.redis.mget(ids.map((id) => this.keys.wangpHost(id)));
    const stillGone = ids.filter((_, i) => again[i] === null);
    if (stillGone.length > 0) await this.redis.zrem(this.keys.wangpHosts, ...stillGone);
  }
}

/**
 * What the farm's live hosts know together: the union of their model types and setting names; the
 * built-in catalog when no host has published (no worker yet, or workers of an older wgp-farm).
 */
export function farmWangpKnowledge(catalogs: readonly HostCatalog[]): WangpKnowledge {
  if (catalogs.length === 0) {
    return {
      modelTypes: KNOWN_MODEL_TYPES,
      settingNames: WANGP_SETTING_NAMES,
      mediaKeys: new Set(WANGP_MEDIA_KEYS),
      source: `the built-in catalog (WanGP ${WANGP_CATALOG.wangp.version ?? "?"})`,
      fromHosts: false,
    };
  }
  const hosts = [...new Set(catalogs.map((c) => c.host))];
  return {
    modelTypes: new Set(catalogs.flatMap((c) => c.model_types)),
    // Names of the built-in catalog stay accepted: a host that does not know one leaves it out (engine-py).
    settingNames: new Set([...WANGP_SETTING_NAMES, ...catalogs.flatMap((c) => c.setting_names)]),
    mediaKeys: new Set([...WANGP_MEDIA_KEYS, ...catalogs.flatMap((c) => c.media_keys)]),
    source: `the live hosts (${hosts.join(", ")})`,
    fromHosts: true,
  };
}

/** The model types of `wanted` that no live host knows (none when no host has published). */
export function modelsNoHostKnows(wanted: Iterable<string>, catalogs: readonly HostCatalog[]): string[] {
  if (catalogs.length === 0) return [];
  const known = new Set(catalogs.flatMap((c) => c.model_types));
  return [...new Set(wanted)].filter((model) => !known.has(model)).sort();
}

/** One host's WanGP as `status` and the dashboard show it (without the long lists). */
export interface HostWangpSummary {
  host: string;
  wangp_root: string;
  version: string | null;
  mmgp_version: string | null;
  model_types: number;
  preflight: HostCatalog["preflight"];
  updated_at: string;
}

export function hostWangpSummary(catalog: HostCatalog): HostWangpSummary {
  return {
    host: catalog.host,
    wangp_root: catalog.wangp_root,
    version: catalog.version,
    mmgp_version: catalog.mmgp_version,
    model_types: catalog.model_types.length,
    preflight: catalog.preflight,
    updated_at: catalog.updated_at,
  };
}

/** What the farm's live hosts know now, read from Redis: what every door that imports tasks checks against. */
export async function readFarmWangpKnowledge(farm: FarmConnection): Promise<WangpKnowledge> {
  return farmWangpKnowledge(await new HostCatalogs(farm.redis, farm.keys).list());
}
