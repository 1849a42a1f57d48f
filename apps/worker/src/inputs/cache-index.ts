import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { type Logger, readRecord } from "@wgp-farm/config";
import { redactUrl } from "@wgp-farm/tasks";
import { z } from "zod";

/** What the cache knows of a URL: the content it had when it was fetched. */
const IndexEntrySchema = z.object({
  /** Redacted: the index may be read by anyone who can read the cache. */
  url: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().min(0),
  fetched_at: z.string(),
});
export type IndexEntry = z.output<typeof IndexEntrySchema>;

export const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");

/** `<cache>/index/<sha256 of the URL>.json`: URL → sha256 of its content. */
export class CacheIndex {
  readonly #dir: string;
  readonly #logger: Logger;

  constructor(cacheDir: string, logger: Logger) {
    this.#dir = path.join(cacheDir, "index");
    this.#logger = logger;
  }

  async get(url: string): Promise<IndexEntry | undefined> {
    const entry = await this.#read(this.#fileOf(url));
    return entry?.url === redactUrl(url) ? entry : undefined;
  }

  async put(url: string, sha256: string, size: number): Promise<void> {
    const entry: IndexEntry = { url: redactUrl(url), sha256, size, fetched_at: new Date().toISOString() };
    const file = this.#fileOf(url);
    const temporary = `${file}.${process.pid}-${randomBytes(4).toString("hex")}`;
    await writeFile(temporary, `${JSON.stringify(entry)}\n`);
    await rename(temporary, file);
  }

  /** Removes the entries whose content is no longer in the cache. */
  async sweep(present: ReadonlySet<string>): Promise<void> {
    for (const name of await readdir(this.#dir)) {
      if (!name.endsWith(".json")) continue;
      const file = path.join(this.#dir, name);
      const entry = await this.#read(file);
      if (!entry || !present.has(entry.sha256)) await rm(file, { force: true });
    }
  }

  #fileOf(url: string): string {
    return path.join(this.#dir, `${sha256Hex(url)}.json`);
  }

  async #read(file: string): Promise<IndexEntry | undefined> {
    const text = await readFile(file, "utf8").catch(() => undefined);
    return readRecord(IndexEntrySchema, text, "input cache entry", this.#logger);
  }
}
