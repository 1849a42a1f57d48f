import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Logger } from "@wgp-farm/config";
import type { EngineSupervisor } from "@wgp-farm/engine";
import { HostLock } from "@wgp-farm/host";
import { CAUSVID_PRESET, wanLoraSubdir } from "@wgp-farm/tasks";
import { sha256Of } from "../output/output-publisher.js";

/** The model's LoRA folder as the engine's WanGP reports it; null when it cannot say (dry-run, an unknown model). */
export async function loraDirOf(engine: EngineSupervisor, modelType: string): Promise<string | null> {
  try {
    return (await engine.describe(modelType)).lora_dir;
  } catch {
    return null;
  }
}

/** The CausVid LoRA is missing and could not be fetched: the task fails rather than run without it. */
export class CausVidDownloadError extends Error {
  override name = "CausVidDownloadError";
}

export interface CausVidLoraOptions {
  wangpRoot: string;
  url: string;
  /** Expected sha256 (hex) of the file; checked after a download and once per process for an existing file. */
  sha256?: string | undefined;
  logger: Logger;
  /** A download that receives nothing for this long is abandoned. */
  stallTimeoutMs?: number;
}

const MIB = 1024 * 1024;

function describeProgress(received: number, total: number | undefined): string {
  const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;
  return total
    ? `${Math.floor((received / total) * 100)}% (${mib(received)} of ${mib(total)})`
    : mib(received);
}

/**
 * Makes sure the CausVid LoRA is in the WanGP LoRA folder the task's model reads. A missing file is
 * downloaded once per host, however many slots (in however many worker processes) need it at the
 * same moment: slots of this process share one download, and a host-wide lock file next to the
 * target covers other processes. The download goes to a temporary file renamed into place.
 */
export class CausVidLora {
  readonly #inFlight = new Map<string, Promise<string>>();
  readonly #verified = new Set<string>();

  readonly #options: CausVidLoraOptions;

  constructor(options: CausVidLoraOptions) {
    this.#options = options;
  }

  /**
   * Where the LoRA must be for a model: WanGP resolves relative LoRA names in the model's folder,
   * `loraDir` as the host's WanGP reports it (`describe().lora_dir`, which honours `--loras` and
   * `loras_root`); without it, the family folder of the built-in catalog under `<root>/loras`.
   */
  pathFor(modelType: string, loraDir?: string | null): string {
    if (loraDir) return path.join(loraDir, CAUSVID_PRESET.loraFile);
    return path.join(
      this.#options.wangpRoot,
      "loras",
      wanLoraSubdir(modelType) ?? "wan",
      CAUSVID_PRESET.loraFile,
    );
  }

  /** Resolves with the file's path once it is in place; `log` receives progress lines for the job log. */
  ensure(modelType: string, log: (line: string) => void, loraDir?: string | null): Promise<string> {
    const target = this.pathFor(modelType, loraDir);
    let pending = this.#inFlight.get(target);
    if (!pending) {
      pending = this.#ensure(target, log).finally(() => this.#inFlight.delete(target));
      this.#inFlight.set(target, pending);
    } else {
      log(`CausVid LoRA: another slot of this worker is fetching ${path.basename(target)}; waiting`);
    }
    return pending;
  }

  async #ensure(target: string, log: (line: string) => void): Promise<string> {
    if (await this.#present(target)) return target;
    await mkdir(path.dirname(target), { recursive: true });
    const lock = await HostLock.acquire(`${target}.lock`, {
      purpose: "CausVid LoRA download",
      staleAfterMs: 60_000,
      pollMs: 200,
      onWait: (holder) =>
        log(
          `CausVid LoRA: waiting for ${holder ? `pid ${holder.pid} on ${holder.host}` : "another process"} to download it`,
        ),
    });
    try {
      if (await this.#present(target)) return target;
      await this.#download(target, log);
      return target;
    } finally {
      await lock.release();
    }
  }

  async #present(target: string): Promise<boolean> {
    const info = await stat(target).catch(() => undefined);
    if (!info?.isFile() || info.size === 0) return false;
    const expected = this.#options.sha256?.toLowerCase();
    if (!expected || this.#verified.has(target)) return true;
    const actual = await sha256Of(target);
    if (actual !== expected) {
      throw new CausVidDownloadError(
        `CausVid LoRA ${target} has sha256 ${actual}, expected ${expected}: remove it (it is fetched again) or fix --causvid-sha256`,
      );
    }
    this.#verified.add(target);
    return true;
  }

  async #download(target: string, log: (line: string) => void): Promise<void> {
    const { url, logger } = this.#options;
    const temporary = `${target}.part-${process.pid}-${randomBytes(4).toString("hex")}`;
    const fail = (reason: string) =>
      new CausVidDownloadError(
        `CausVid LoRA download from ${url} failed: ${reason} (the task needs ${target})`,
      );
    const stall = new AbortController();
    let stallTimer: NodeJS.Timeout | undefined;
    const armStall = () => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => stall.abort(), this.#options.stallTimeoutMs ?? 60_000);
    };
    log(`CausVid LoRA missing: downloading ${url} to ${target}`);
    logger.info({ url, target }, "downloading the CausVid LoRA");
    armStall();
    try {
      const response = await fetch(url, { signal: stall.signal, redirect: "follow" }).catch(
        (error: Error) => {
          throw fail(
            stall.signal.aborted
              ? "no answer"
              : ((error.cause as Error | undefined)?.message ?? error.message),
          );
        },
      );
      if (!response.ok || !response.body) throw fail(`HTTP ${response.status} ${response.statusText}`.trim());
      const total = Number(response.headers.get("content-length")) || undefined;
      const hash = createHash("sha256");
      let received = 0;
      let reportedAt = 0;
      let reportedTenth = -1;
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          armStall();
          received += chunk.length;
          hash.update(chunk);
          const tenth = total ? Math.floor((received / total) * 10) : -1;
          if (tenth > reportedTenth || Date.now() - reportedAt > 5_000) {
            reportedTenth = tenth;
            reportedAt = Date.now();
            log(`CausVid LoRA: ${describeProgress(received, total)}`);
          }
          callback(null, chunk);
        },
      });
      await pipeline(Readable.fromWeb(response.body), meter, createWriteStream(temporary)).catch(
        (error: Error) => {
          throw fail(stall.signal.aborted ? "the download stalled" : error.message);
        },
      );
      if (total !== undefined && received !== total) throw fail(`got ${received} of ${total} bytes`);
      const actual = hash.digest("hex");
      const expected = this.#options.sha256?.toLowerCase();
      if (expected && actual !== expected)
        throw fail(`sha256 ${actual} does not match the expected ${expected}`);
      await rename(temporary, target);
      if (expected) this.#verified.add(target);
      log(`CausVid LoRA: downloaded ${describeProgress(received, total)}, sha256 ${actual}`);
      logger.info({ target, bytes: received, sha256: actual }, "CausVid LoRA downloaded");
    } finally {
      clearTimeout(stallTimer);
      await rm(temporary, { force: true });
    }
  }
}
