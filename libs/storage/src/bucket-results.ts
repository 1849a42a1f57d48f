import type { Logger } from "@wgp-farm/config";
import { Bucket } from "./bucket.js";
import { isS3Url, keyUnder, parseS3Url, type S3Location } from "./s3-location.js";
import type { S3Settings } from "./storage-options.js";

/** Written last by the S3 result store, removed first here: a result exists only while it does. */
const MANIFEST_NAME = "result.json";

/** A presigned link to one file of a stored result. */
export interface ResultLink {
  name: string;
  url: string;
}

/**
 * Results kept in buckets, found by the `output_dir` a job's result names (`s3://bucket/prefix/sub`),
 * for the programs that read or remove them (status, the dashboard, the API, clean): time-limited
 * links to their files, and their removal. Folder results (a path) are not its business: `holds`
 * says which are.
 */
export class BucketResults {
  readonly #settings: S3Settings;
  readonly #logger: Logger | undefined;
  readonly #within: S3Location | undefined;
  readonly #buckets = new Map<string, Bucket>();

  /** `within` (an --output-store URL): only results under it are this one's to link or remove. */
  constructor(
    settings: S3Settings,
    options: { within?: string | undefined; logger?: Logger | undefined } = {},
  ) {
    this.#settings = settings;
    this.#logger = options.logger;
    this.#within = options.within ? parseS3Url(options.within, "--output-store") : undefined;
  }

  holds(outputDir: string): boolean {
    if (!isS3Url(outputDir)) return false;
    if (!this.#within) return true;
    const { bucket, prefix } = parseS3Url(outputDir, "a result's output_dir");
    const within = this.#within;
    return bucket === within.bucket && (within.prefix === "" || prefix.startsWith(`${within.prefix}/`));
  }

  /** Links to the named files of a stored result (computed locally, no request); none for a result not held. */
  async links(outputDir: string, names: readonly string[], ttlMs?: number): Promise<ResultLink[]> {
    if (!this.holds(outputDir)) return [];
    const { bucket, location } = this.#open(outputDir);
    return Promise.all(
      names.map(async (name) => ({ name, url: await bucket.link(keyUnder(location, name), ttlMs) })),
    );
  }

  /**
   * Links to a job's result (its return value: `output_dir` and `files`), the manifest included;
   * none when the result is not held here (a folder result, or another store's).
   */
  async linksOfResult(result: unknown, ttlMs?: number): Promise<ResultLink[]> {
    const { output_dir: outputDir, files } = (result ?? {}) as { output_dir?: unknown; files?: unknown };
    if (typeof outputDir !== "string" || !Array.isArray(files)) return [];
    const names = files
      .map((file) => (file as { name?: unknown } | null)?.name)
      .filter((name): name is string => typeof name === "string");
    return this.links(outputDir, [...names, MANIFEST_NAME], ttlMs);
  }

  /** Removes every object of a stored result, its manifest first. */
  async remove(outputDir: string): Promise<void> {
    if (!this.holds(outputDir)) throw new Error(`${outputDir} is not a result of this store`);
    const { bucket, location } = this.#open(outputDir);
    if (location.prefix === "") throw new Error(`${outputDir}: refusing to remove a whole bucket`);
    const manifest = keyUnder(location, MANIFEST_NAME);
    const keys = (await bucket.list(`${location.prefix}/`)).map((object) => object.key);
    if (keys.includes(manifest)) await bucket.delete([manifest]);
    const others = keys.filter((key) => key !== manifest);
    if (others.length > 0) await bucket.delete(others);
  }

  close(): void {
    for (const bucket of this.#buckets.values()) bucket.close();
    this.#buckets.clear();
  }

  #open(outputDir: string): { bucket: Bucket; location: S3Location } {
    const location = parseS3Url(outputDir, "a result's output_dir");
    // Never the farm's own keys (remote staging): only a task's folder.
    if (location.prefix.split("/").some((part) => part.startsWith(".wgp-farm"))) {
      throw new Error(`${outputDir}: not a result's folder`);
    }
    let bucket = this.#buckets.get(location.bucket);
    if (!bucket) {
      bucket = new Bucket({ bucket: location.bucket, prefix: "" }, this.#settings, {
        setting: "the result's output_dir",
        logger: this.#logger,
      });
      this.#buckets.set(location.bucket, bucket);
    }
    return { bucket, location };
  }
}
