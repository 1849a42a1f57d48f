import type { Redis } from "ioredis";
import type { FarmKeys } from "./farm-keys.js";

/** What `wgp-farm doctor` last saw on one host: lets every host compare itself with the others. */
export interface HostRecord {
  host: string;
  checked_at: string;
  /** The output folder as this host mounts it, and the token of the marker file it wrote there. */
  output_dir?: string;
  output_marker?: string;
  wangp_version?: string;
  wangp_commit?: string;
}

/** Hash host → HostRecord (JSON), under the farm's prefix. */
export class HostRecords {
  constructor(
    private readonly redis: Redis,
    private readonly keys: FarmKeys,
  ) {}

  get key(): string {
    return `${this.keys.prefix}:farm:doctor-hosts`;
  }

  async write(record: HostRecord): Promise<void> {
    await this.redis.hset(this.key, record.host, JSON.stringify(record));
  }

  /** Every record, by host name. */
  async list(): Promise<HostRecord[]> {
    const entries = await this.redis.hgetall(this.key);
    const records = Object.values(entries).flatMap((text) => {
      try {
        return [JSON.parse(text) as HostRecord];
      } catch {
        return [];
      }
    });
    return records.sort((a, b) => a.host.localeCompare(b.host));
  }

  async forget(host: string): Promise<boolean> {
    return (await this.redis.hdel(this.key, host)) === 1;
  }
}
