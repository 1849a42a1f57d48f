import { readRecord } from "@wgp-farm/config";
import type { Redis } from "ioredis";
import { z } from "zod";
import type { FarmKeys } from "./farm-keys.js";

/**
 * What `wgp-farm doctor` last saw on one host, in `keys.doctorHosts` (hash host → JSON): lets every
 * host compare itself with the others.
 */
export const HostRecordSchema = z.object({
  host: z.string(),
  checked_at: z.string(),
  /** The output folder as this host mounts it, and the token of the marker file it wrote there. */
  output_dir: z.string().optional(),
  output_marker: z.string().optional(),
  wangp_version: z.string().optional(),
  wangp_commit: z.string().optional(),
});
export type HostRecord = z.output<typeof HostRecordSchema>;

/** Every host's doctor record, under the farm's prefix. */
export class HostRecords {
  constructor(
    private readonly redis: Redis,
    private readonly keys: FarmKeys,
  ) {}

  get key(): string {
    return this.keys.doctorHosts;
  }

  async write(record: HostRecord): Promise<void> {
    await this.redis.hset(this.key, record.host, JSON.stringify(record));
  }

  /** Every record, by host name; a record in another shape (another version wrote it) is left out. */
  async list(): Promise<HostRecord[]> {
    const entries = await this.redis.hgetall(this.key);
    const records = Object.values(entries).flatMap((text) => {
      const record = readRecord(HostRecordSchema, text, "doctor host");
      return record ? [record] : [];
    });
    return records.sort((a, b) => a.host.localeCompare(b.host));
  }

  async forget(host: string): Promise<boolean> {
    return (await this.redis.hdel(this.key, host)) === 1;
  }
}
