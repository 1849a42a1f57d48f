import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile, realpath, rename, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { setImmediate as nextTurn } from "node:timers/promises";
import { bestEffort, type Logger, readRecord } from "@wgp-farm/config";
import { normalizeOutputSubDir, RESERVED_OUTPUT_PREFIX, resolveOutputDir } from "@wgp-farm/tasks";
import { z } from "zod";
import { makeDir } from "./make-dir.js";
import type { ResultStore } from "./result-store.js";

/** `<main-output-dir>/.wgp-farm-staging/`: unpublished results (the prefix is reserved, no task can use it). */
export const STAGING_DIR_NAME = `${RESERVED_OUTPUT_PREFIX}-staging`;

/** Who a staging folder belongs to (its owner file): a job attempt, identified by the job's lock token. */
export const StagingOwnerSchema = z.object({
  task_id: z.string(),
  queue: z.string(),
  token: z.string(),
  host: z.string(),
  pid: z.number().int(),
  created_at: z.string(),
});

export type StagingOwner = z.infer<typeof StagingOwnerSchema>;

export interface StagedOutput {
  /** The staging folder (owner file + files/). */
  dir: string;
  /** Where the engine writes (it creates the folder); renamed into place on publish. */
  filesDir: string;
  owner: StagingOwner;
  /** Resolves once the folder and its owner file exist. */
  ready: Promise<void>;
}

/**
 * What stands between a staged result and its folder: `claim` once the result is ready (it throws
 * when the attempt no longer owns its job), `check` right before each rename (it throws once the
 * right to publish has run out). Nothing is renamed into place without both.
 */
export interface PublishGate {
  claim(): Promise<void>;
  check(): void;
}

export interface PublishedFile {
  name: string;
  size: number;
  sha256: string;
}

const OWNER_FILE = "owner.json";
const FILES_DIR = "files";
/** A staging folder without an owner file (a crash while creating it) is removed after this long. */
export const ORPHAN_AGE_MS = 60 * 60_000;

const HOST = os.hostname();

/** A short file-name-safe tag from the attempt's lock token (unique per fetch). */
function uniqueTag(token: string): string {
  return createHash("sha1").update(token).digest("hex").slice(0, 12);
}

/** File-name-safe, recognisable and collision-free form of a task id. */
function taskSlug(taskId: string): string {
  const readable = taskId.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 60);
  const hash = createHash("sha1").update(taskId).digest("hex").slice(0, 8);
  return `${readable}-${hash}`;
}

/** Files up to this size are hashed in one read; larger ones are streamed. */
const WHOLE_READ_LIMIT = 16 * 1024 * 1024;

export async function sha256Of(file: string, size?: number): Promise<string> {
  const hash = createHash("sha256");
  if (size !== undefined && size <= WHOLE_READ_LIMIT) hash.update(await readFile(file));
  else await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}

function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
}

/**
 * Results are written to a staging folder inside the output root and published by renaming the
 * whole folder into place: a crash never leaves a half-written result that looks complete, a re-run
 * replaces the previous result instead of adding a second one, and nothing is written outside the
 * root (the task's folder is resolved through symlinks and re-checked just before the rename).
 */
export class OutputPublisher implements ResultStore {
  /** The main output dir, symlinks resolved. */
  readonly root: string;
  readonly stagingRoot: string;
  readonly #logger: Logger | undefined;

  private constructor(root: string, stagingRoot: string, logger: Logger | undefined) {
    this.root = root;
    this.stagingRoot = stagingRoot;
    this.#logger = logger;
  }

  static async open(mainOutputDir: string, logger?: Logger): Promise<OutputPublisher> {
    await mkdir(mainOutputDir, { recursive: true });
    const root = await realpath(mainOutputDir);
    const stagingRoot = path.join(root, STAGING_DIR_NAME);
    await mkdir(stagingRoot, { recursive: true });
    return new OutputPublisher(root, stagingRoot, logger);
  }

  /** The task's output folder; throws OutputDirEscapeError when it would lead outside the root. */
  targetOf(outputSubDir: string): Promise<string> {
    return resolveOutputDir(this.root, outputSubDir);
  }

  /**
   * A fresh staging folder for a job attempt, returned at once: its owner file is written in the
   * background (`ready`), since the engine creates the files folder itself. Other staging folders
   * of the same task belong to attempts that lost the job (the caller holds its lock now) and are
   * removed; a first attempt has none, so it skips the look.
   */
  stage(owner: Omit<StagingOwner, "host" | "pid" | "created_at">, firstAttempt = false): StagedOutput {
    const slug = taskSlug(owner.task_id);
    const dir = path.join(this.stagingRoot, `${slug}.${uniqueTag(owner.token)}`);
    const full: StagingOwner = {
      ...owner,
      host: HOST,
      pid: process.pid,
      created_at: new Date().toISOString(),
    };
    const ready = (async () => {
      // Not before the engine has its command: it creates the files folder itself.
      await nextTurn();
      if (!firstAttempt) {
        const stale = (await readdir(this.stagingRoot)).filter(
          (name) => name.startsWith(`${slug}.`) && name !== path.basename(dir),
        );
        await Promise.all(
          stale.map((name) => rm(path.join(this.stagingRoot, name), { recursive: true, force: true })),
        );
      }
      await makeDir(dir);
      await writeFile(path.join(dir, OWNER_FILE), `${JSON.stringify(full)}\n`);
    })();
    // Awaited by publish and discard; until then a failure must not go unhandled.
    ready.catch(() => undefined);
    return { dir, filesDir: path.join(dir, FILES_DIR), owner: full, ready };
  }

  /** Size and sha256 of the engine's files (absolute paths inside the staging folder), in order. */
  async describe(staged: StagedOutput, files: readonly string[]): Promise<PublishedFile[]> {
    return Promise.all(
      files.map(async (file) => {
        const absolute = path.resolve(file);
        if (!isInside(staged.filesDir, absolute)) {
          throw new Error(`the engine reported a file outside the job's folder: ${file}`);
        }
        const { size } = await stat(absolute);
        return {
          name: path.relative(staged.filesDir, absolute),
          size,
          sha256: await sha256Of(absolute, size),
        };
      }),
    );
  }

  /**
   * Writes the JSON documents next to the files and, once `gate` lets it, renames the folder into
   * place. Returns it.
   */
  async publish(
    staged: StagedOutput,
    outputSubDir: string,
    documents: Readonly<Record<string, unknown>>,
    gate: PublishGate,
  ): Promise<string> {
    await staged.ready;
    await makeDir(staged.filesDir);
    await Promise.all(
      Object.entries(documents).map(([name, value]) =>
        writeFile(path.join(staged.filesDir, name), `${JSON.stringify(value, null, 2)}\n`),
      ),
    );
    await makeDir(path.dirname(path.join(this.root, normalizeOutputSubDir(outputSubDir))));
    // Claimed as late as it can be, so that the lease is spent on renames, not on writing files.
    await gate.claim();
    // Checked after creating the parents: a symlink planted meanwhile must not redirect the rename.
    const confirmed = await this.targetOf(outputSubDir);
    await this.#renameReplacing(staged, confirmed, gate);
    await rm(staged.dir, { recursive: true, force: true });
    return confirmed;
  }

  async discard(staged: StagedOutput): Promise<void> {
    // A folder whose creation failed may still exist in part: it is removed all the same.
    await bestEffort(staged.ready, this.#logger, "creating the staging folder");
    await rm(staged.dir, { recursive: true, force: true });
  }

  /** Removes staging folders whose attempt no longer holds its job (a killed or superseded worker). */
  async sweep(isHeld: (owner: StagingOwner) => Promise<boolean>): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.stagingRoot)) {
      const dir = path.join(this.stagingRoot, name);
      // No owner file (or an unreadable one): the folder is judged by its age.
      const text = await readFile(path.join(dir, OWNER_FILE), "utf8").catch(() => null);
      const owner = readRecord(StagingOwnerSchema, text, "staging owner", this.#logger);
      const orphan = owner
        ? !(await isHeld(owner))
        : Date.now() - (await stat(dir).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs > ORPHAN_AGE_MS;
      if (orphan) {
        await rm(dir, { recursive: true, force: true });
        removed += 1;
      }
    }
    return removed;
  }

  /** Nothing to release: the folder store holds no connection. */
  async close(): Promise<void> {}

  async #renameReplacing(staged: StagedOutput, target: string, gate: PublishGate): Promise<void> {
    try {
      gate.check();
      await rename(staged.filesDir, target);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST" && code !== "ENOTDIR" && code !== "EISDIR") throw error;
    }
    // A previous result is there: move it aside, put the new one in place, then drop the old one.
    const previous = path.join(staged.dir, "previous");
    gate.check();
    await rename(target, previous);
    try {
      gate.check();
      await rename(staged.filesDir, target);
    } catch (error) {
      await bestEffort(rename(previous, target), this.#logger, "putting the previous result back", "warn");
      throw error;
    }
  }
}
