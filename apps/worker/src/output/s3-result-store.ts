import { readdir, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { bestEffort, type Logger, readRecord } from "@wgp-farm/config";
import { Bucket, type S3Settings } from "@wgp-farm/storage";
import { normalizeOutputSubDir, OutputDirEscapeError, outputSubDirProblem } from "@wgp-farm/tasks";
import { makeDir } from "./make-dir.js";
import {
  ORPHAN_AGE_MS,
  OutputPublisher,
  type PublishedFile,
  type PublishGate,
  STAGING_DIR_NAME,
  type StagedOutput,
  type StagingOwner,
  StagingOwnerSchema,
  sha256Of,
} from "./output-publisher.js";
import type { ResultStore } from "./result-store.js";

/** The manifest: published last, so a result exists only once it does. */
export const MANIFEST_NAME = "result.json";
const OWNER_KEY = "owner.json";
const FILES_PART = "files";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".mp4": "video/mp4",
  ".webm": "video/webm",
  ".mkv": "video/x-matroska",
  ".mov": "video/quicktime",
  ".gif": "image/gif",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
  ".wav": "audio/wav",
  ".mp3": "audio/mpeg",
  ".flac": "audio/flac",
  ".json": "application/json",
  ".txt": "text/plain",
};

interface LocalFile {
  /** `/`-separated, relative to the files folder. */
  name: string;
  path: string;
  size: number;
  sha256: string;
}

function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * Results in a bucket (`--output-store s3://bucket/prefix`). An attempt's files are staged in a local
 * folder as with the folder store, then uploaded to a staging prefix of its own
 * (`<prefix>/.wgp-farm-staging/<task>.<attempt>/`) before the publish claim: the long transfer needs
 * no lease, and an attempt that lost its job never writes a key a result is read from. Once the claim
 * is granted, the previous result's manifest is removed first (a half-replaced result then looks like
 * none), each file is copied server-side to its final key, the previous result's other files are
 * removed, and result.json is written last. The gate is checked before each of those writes.
 */
export class S3ResultStore implements ResultStore {
  readonly #local: OutputPublisher;
  readonly #bucket: Bucket;
  readonly #logger: Logger | undefined;
  /** What describe() learned, so a file is hashed once. */
  readonly #described = new WeakMap<StagedOutput, Map<string, PublishedFile>>();

  private constructor(local: OutputPublisher, bucket: Bucket, logger: Logger | undefined) {
    this.#local = local;
    this.#bucket = bucket;
    this.#logger = logger;
  }

  /** Checks the bucket at once: a missing bucket or refused credentials stop the worker at start. */
  static async open(
    mainOutputDir: string,
    outputStore: string,
    settings: S3Settings,
    logger?: Logger,
  ): Promise<S3ResultStore> {
    const bucket = await Bucket.open(outputStore, settings, { setting: "--output-store", logger });
    return new S3ResultStore(await OutputPublisher.open(mainOutputDir, logger), bucket, logger);
  }

  get bucket(): Bucket {
    return this.#bucket;
  }

  async targetOf(outputSubDir: string): Promise<string> {
    const problem = outputSubDirProblem(outputSubDir);
    if (problem) throw new OutputDirEscapeError(`output_sub_dir '${outputSubDir}' ${problem}`);
    return this.#bucket.urlOf(this.#finalPrefix(outputSubDir));
  }

  stage(owner: Omit<StagingOwner, "host" | "pid" | "created_at">, firstAttempt = false): StagedOutput {
    return this.#local.stage(owner, firstAttempt);
  }

  async describe(staged: StagedOutput, files: readonly string[]): Promise<PublishedFile[]> {
    const described = await this.#local.describe(staged, files);
    this.#described.set(staged, new Map(described.map((file) => [file.name, file])));
    return described;
  }

  async publish(
    staged: StagedOutput,
    outputSubDir: string,
    documents: Readonly<Record<string, unknown>>,
    gate: PublishGate,
  ): Promise<string> {
    const target = await this.targetOf(outputSubDir);
    await staged.ready;
    await makeDir(staged.filesDir);
    const { [MANIFEST_NAME]: manifest, ...others } = documents;
    await Promise.all(
      Object.entries(others).map(([name, value]) =>
        writeFile(path.join(staged.filesDir, name), jsonText(value)),
      ),
    );
    const staging = this.#stagingPrefix(staged);
    try {
      const files = await this.#localFiles(staged);
      await this.#bucket.putText(`${staging}/${OWNER_KEY}`, jsonText(staged.owner));
      for (const file of files) await this.#bucket.upload(`${staging}/${FILES_PART}/${file.name}`, file);
      // Claimed as late as it can be, so that the lease is spent on copies, not on uploads.
      await gate.claim();
      await this.#replace(this.#finalPrefix(outputSubDir), staging, files, manifest, gate);
    } finally {
      await bestEffort(this.#removeStaging(staging), this.#logger, "removing the remote staging", "warn");
    }
    await rm(staged.dir, { recursive: true, force: true });
    return target;
  }

  discard(staged: StagedOutput): Promise<void> {
    return this.#local.discard(staged);
  }

  /** Local staging folders, then remote staging prefixes, of attempts that no longer hold their job. */
  async sweep(isHeld: (owner: StagingOwner) => Promise<boolean>): Promise<number> {
    const local = await this.#local.sweep(isHeld);
    const groups = new Map<string, Date>();
    const root = this.#bucket.keyOf(STAGING_DIR_NAME);
    for (const object of await this.#bucket.list(`${root}/`)) {
      const name = object.key.slice(root.length + 1).split("/")[0] ?? "";
      const newest = groups.get(name);
      const modified = object.lastModified ?? new Date();
      if (!newest || modified > newest) groups.set(name, modified);
    }
    let remote = 0;
    for (const [name, newest] of groups) {
      const prefix = `${root}/${name}`;
      const text = await this.#bucket.getText(`${prefix}/${OWNER_KEY}`);
      const owner = readRecord(StagingOwnerSchema, text ?? null, "remote staging owner", this.#logger);
      const orphan = owner ? !(await isHeld(owner)) : Date.now() - newest.getTime() > ORPHAN_AGE_MS;
      if (orphan) {
        await this.#removeStaging(prefix);
        remote += 1;
      }
    }
    return local + remote;
  }

  async close(): Promise<void> {
    this.#bucket.close();
  }

  /** Puts the staged files in place of the previous result, the manifest last. */
  async #replace(
    finalPrefix: string,
    staging: string,
    files: readonly LocalFile[],
    manifest: unknown,
    gate: PublishGate,
  ): Promise<void> {
    const manifestKey = `${finalPrefix}/${MANIFEST_NAME}`;
    const previous = await this.#previousFiles(manifestKey);
    if (previous) {
      gate.check();
      await this.#bucket.delete([manifestKey]);
    }
    for (const file of files) {
      gate.check();
      await this.#bucket.copy(
        `${staging}/${FILES_PART}/${file.name}`,
        `${finalPrefix}/${file.name}`,
        file.size,
      );
    }
    const kept = new Set(files.map((file) => file.name));
    const stale = (previous ?? []).filter((name) => !kept.has(name) && name !== MANIFEST_NAME);
    if (stale.length > 0) {
      gate.check();
      await this.#bucket.delete(stale.map((name) => `${finalPrefix}/${name}`));
    }
    if (manifest !== undefined) {
      gate.check();
      await this.#bucket.putText(manifestKey, jsonText(manifest));
    }
  }

  /** The names the previous result's manifest lists (and its task.json), or undefined when there is none. */
  async #previousFiles(manifestKey: string): Promise<string[] | undefined> {
    const text = await this.#bucket.getText(manifestKey);
    if (text === undefined) return undefined;
    try {
      const { files } = JSON.parse(text) as { files?: { name?: unknown }[] };
      const names = (files ?? [])
        .map((file) => file.name)
        .filter((name): name is string => typeof name === "string");
      return [...names, "task.json"];
    } catch {
      this.#logger?.warn({ key: manifestKey }, "the previous result.json is unreadable; its files stay");
      return [];
    }
  }

  async #localFiles(staged: StagedOutput): Promise<LocalFile[]> {
    const known = this.#described.get(staged) ?? new Map<string, PublishedFile>();
    const entries = await readdir(staged.filesDir, { recursive: true, withFileTypes: true });
    const files = entries.filter((entry) => entry.isFile());
    return Promise.all(
      files.map(async (entry) => {
        const absolute = path.join(entry.parentPath, entry.name);
        const name = path.relative(staged.filesDir, absolute).split(path.sep).join("/");
        const described = known.get(name);
        const size = described?.size ?? (await stat(absolute)).size;
        const sha256 = described?.sha256 ?? (await sha256Of(absolute, size));
        const contentType = CONTENT_TYPES[path.extname(name).toLowerCase()];
        return { name, path: absolute, size, sha256, ...(contentType ? { contentType } : {}) };
      }),
    );
  }

  #finalPrefix(outputSubDir: string): string {
    return this.#bucket.keyOf(normalizeOutputSubDir(outputSubDir));
  }

  #stagingPrefix(staged: StagedOutput): string {
    return this.#bucket.keyOf(STAGING_DIR_NAME, path.basename(staged.dir));
  }

  async #removeStaging(prefix: string): Promise<void> {
    const keys = (await this.#bucket.list(`${prefix}/`)).map((object) => object.key);
    if (keys.length > 0) await this.#bucket.delete(keys);
  }
}
