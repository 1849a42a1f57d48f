import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile, realpath, rename, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { RESERVED_OUTPUT_PREFIX, resolveOutputDir } from "@wgp-farm/tasks";

/** `<main-output-dir>/.wgp-farm-staging/`: unpublished results (the prefix is reserved, no task can use it). */
export const STAGING_DIR_NAME = `${RESERVED_OUTPUT_PREFIX}-staging`;

/** Who a staging folder belongs to: a job attempt, identified by the job's lock token. */
export interface StagingOwner {
  task_id: string;
  queue: string;
  token: string;
  host: string;
  pid: number;
  created_at: string;
}

export interface StagedOutput {
  /** The staging folder (owner file + files/). */
  dir: string;
  /** Where the engine writes; renamed into place on publish. */
  filesDir: string;
  owner: StagingOwner;
}

export interface PublishedFile {
  name: string;
  size: number;
  sha256: string;
}

const OWNER_FILE = "owner.json";
const FILES_DIR = "files";
/** A staging folder without an owner file (a crash while creating it) is removed after this long. */
const ORPHAN_AGE_MS = 60 * 60_000;

/** File-name-safe, recognisable and collision-free form of a task id. */
function taskSlug(taskId: string): string {
  const readable = taskId.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 60);
  const hash = createHash("sha1").update(taskId).digest("hex").slice(0, 8);
  return `${readable}-${hash}`;
}

export async function sha256Of(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
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
export class OutputPublisher {
  private constructor(
    /** The main output dir, symlinks resolved. */
    readonly root: string,
    readonly stagingRoot: string,
  ) {}

  static async open(mainOutputDir: string): Promise<OutputPublisher> {
    await mkdir(mainOutputDir, { recursive: true });
    const root = await realpath(mainOutputDir);
    const stagingRoot = path.join(root, STAGING_DIR_NAME);
    await mkdir(stagingRoot, { recursive: true });
    return new OutputPublisher(root, stagingRoot);
  }

  /** The task's output folder; throws OutputDirEscapeError when it would lead outside the root. */
  targetOf(outputSubDir: string): Promise<string> {
    return resolveOutputDir(this.root, outputSubDir);
  }

  /**
   * A fresh staging folder for a job attempt. Other staging folders of the same task belong to
   * attempts that lost the job (the caller holds its lock now) and are removed.
   */
  async stage(owner: Omit<StagingOwner, "host" | "pid" | "created_at">): Promise<StagedOutput> {
    const slug = taskSlug(owner.task_id);
    const stale = (await readdir(this.stagingRoot)).filter((name) => name.startsWith(`${slug}.`));
    await Promise.all(
      stale.map((name) => rm(path.join(this.stagingRoot, name), { recursive: true, force: true })),
    );
    const dir = path.join(this.stagingRoot, `${slug}.${randomBytes(6).toString("hex")}`);
    const filesDir = path.join(dir, FILES_DIR);
    await mkdir(filesDir, { recursive: true });
    const full: StagingOwner = {
      ...owner,
      host: os.hostname(),
      pid: process.pid,
      created_at: new Date().toISOString(),
    };
    await writeFile(path.join(dir, OWNER_FILE), `${JSON.stringify(full)}\n`);
    return { dir, filesDir, owner: full };
  }

  /** Size and sha256 of the engine's files (absolute paths inside the staging folder), in order. */
  async describe(staged: StagedOutput, files: readonly string[]): Promise<PublishedFile[]> {
    return Promise.all(
      files.map(async (file) => {
        const absolute = path.resolve(file);
        if (!isInside(staged.filesDir, absolute)) {
          throw new Error(`the engine reported a file outside the job's folder: ${file}`);
        }
        const [info, sha256] = await Promise.all([stat(absolute), sha256Of(absolute)]);
        return { name: path.relative(staged.filesDir, absolute), size: info.size, sha256 };
      }),
    );
  }

  /** Writes the JSON documents next to the files and renames the folder into place. Returns it. */
  async publish(
    staged: StagedOutput,
    outputSubDir: string,
    documents: Readonly<Record<string, unknown>>,
  ): Promise<string> {
    for (const [name, value] of Object.entries(documents)) {
      await writeFile(path.join(staged.filesDir, name), `${JSON.stringify(value, null, 2)}\n`);
    }
    const target = await this.targetOf(outputSubDir);
    await mkdir(path.dirname(target), { recursive: true });
    // Re-checked after creating the parents: a symlink planted meanwhile must not redirect the rename.
    const confirmed = await this.targetOf(outputSubDir);
    await this.#renameReplacing(staged, confirmed);
    await rm(staged.dir, { recursive: true, force: true });
    return confirmed;
  }

  async discard(staged: StagedOutput): Promise<void> {
    await rm(staged.dir, { recursive: true, force: true });
  }

  /** Removes staging folders whose attempt no longer holds its job (a killed or superseded worker). */
  async sweep(isHeld: (owner: StagingOwner) => Promise<boolean>): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.stagingRoot)) {
      const dir = path.join(this.stagingRoot, name);
      const owner = await readFile(path.join(dir, OWNER_FILE), "utf8")
        .then((text) => JSON.parse(text) as StagingOwner)
        .catch(() => undefined);
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

  async #renameReplacing(staged: StagedOutput, target: string): Promise<void> {
    try {
      await rename(staged.filesDir, target);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST" && code !== "ENOTDIR" && code !== "EISDIR") throw error;
    }
    // A previous result is there: move it aside, put the new one in place, then drop the old one.
    const previous = path.join(staged.dir, "previous");
    await rename(target, previous);
    try {
      await rename(staged.filesDir, target);
    } catch (error) {
      await rename(previous, target).catch(() => undefined);
      throw error;
    }
  }
}
