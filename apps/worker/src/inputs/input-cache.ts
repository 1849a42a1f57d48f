import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { link, mkdir, readdir, rm, stat, utimes } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { bestEffort, type Logger } from "@wgp-farm/config";
import { FileInUse, HostLock, processIsAlive } from "@wgp-farm/host";
import { type MediaUrl, redactUrl } from "@wgp-farm/tasks";
import { type EvictionResult, evictInputs } from "./cache-eviction.js";
import { CacheIndex, sha256Hex } from "./cache-index.js";
import { InputChecksumError, InputFetchError, type InputSource } from "./input-source.js";

export interface InputCacheOptions {
  /** The cache folder on this host (local disk: it is read by every job that uses an input). */
  dir: string;
  /** Unused inputs are evicted, oldest use first, while the cache holds more than this. */
  maxBytes: number;
  /** An input not used for this long is evicted. */
  maxAgeMs: number;
  /** Who reads each URL scheme (`s3` only where the worker has object storage settings). */
  sources: Partial<Record<MediaUrl["scheme"], InputSource>>;
  logger: Logger;
  /** A download that receives nothing for this long is abandoned (default 60 s). */
  stallTimeoutMs?: number;
}

/** An input in the cache, held for a job: eviction leaves it alone until it is released. */
export interface CachedInput {
  path: string;
  sha256: string;
  size: number;
  /** This call downloaded it (false: it was in the cache). */
  fetched: boolean;
  release(): Promise<void>;
}

const MIB = 1024 * 1024;

type Fetched = { sha256: string; fetched: boolean };

/** A download the slots of this process wait on together. */
interface SharedDownload {
  promise: Promise<Fetched>;
  /** Aborts the download: when the last slot waiting for it stops. */
  stop: AbortController;
  waiters: number;
}

/**
 * A host's content-addressed cache of media inputs given by URL: `<dir>/<sha256>` holds each file
 * once, `<dir>/index/` maps a URL to the sha256 it had. A URL is fetched once per host: slots of
 * this process share one download, and a host lock per URL covers other worker processes. A
 * download goes to a temporary file while it is hashed, is checked (announced size, MD5 where the
 * source gives one, the task's `#sha256=` pin) and is then linked into place. A URL's content is
 * taken as unchanging: a new version needs a new URL or a new pin (the pin alone finds the file).
 */
export class InputCache {
  readonly #options: InputCacheOptions;
  readonly #index: CacheIndex;
  readonly #inFlight = new Map<string, SharedDownload>();
  #evicting: Promise<EvictionResult> | undefined;

  private constructor(options: InputCacheOptions) {
    this.#options = options;
    this.#index = new CacheIndex(options.dir, options.logger);
  }

  static async open(options: InputCacheOptions): Promise<InputCache> {
    const cache = new InputCache(options);
    await Promise.all(
      ["index", "locks", "tmp"].map((sub) => mkdir(path.join(options.dir, sub), { recursive: true })),
    );
    await cache.#removeDeadDownloads();
    await cache.evict();
    return cache;
  }

  get dir(): string {
    return this.#options.dir;
  }

  /** The input on this host, fetched if need be, and held until `release()`. */
  async acquire(media: MediaUrl, log: (line: string) => void, signal: AbortSignal): Promise<CachedInput> {
    // Eviction may take a file between the look-up and the hold: then it is looked up (fetched) again.
    for (let tries = 0; tries < 3; tries++) {
      const { sha256, fetched } = (await this.#lookup(media)) ?? (await this.#fetchOnce(media, log, signal));
      const file = path.join(this.#options.dir, sha256);
      const held = await FileInUse.hold(file);
      if (!held) continue;
      const now = new Date();
      // The modification time is the last use: what eviction by age and by size goes by.
      await utimes(file, now, now);
      const { size } = await stat(file);
      this.#evictSoon();
      return { path: file, sha256, size, fetched, release: () => held.release() };
    }
    throw new InputFetchError(`${redactUrl(media.url)} was evicted from the input cache as it was fetched`);
  }

  /** Removes inputs no job holds: unused longer than the age limit, then the oldest beyond the size limit. */
  evict(): Promise<EvictionResult> {
    this.#evicting ??= evictInputs(this.#options, this.#index).finally(() => {
      this.#evicting = undefined;
    });
    return this.#evicting;
  }

  #evictSoon(): void {
    void bestEffort(this.evict(), this.#options.logger, "evicting unused inputs");
  }

  /** The cached content for a URL, without any network: by its pin, else by what the index says. */
  async #lookup(media: MediaUrl): Promise<{ sha256: string; fetched: false } | undefined> {
    if (media.sha256 && (await this.#has(media.sha256))) return { sha256: media.sha256, fetched: false };
    const entry = await this.#index.get(media.url);
    if (!entry || (media.sha256 && entry.sha256 !== media.sha256)) return undefined;
    return (await this.#has(entry.sha256)) ? { sha256: entry.sha256, fetched: false } : undefined;
  }

  async #has(sha256: string): Promise<boolean> {
    const info = await stat(path.join(this.#options.dir, sha256)).catch(() => undefined);
    return info?.isFile() ?? false;
  }

  /**
   * One download per URL in this process, shared by the slots that need it: it stops only when
   * every one of them has stopped waiting (a cancel of one job leaves the others' download alone).
   * A host lock per URL keeps other processes to one download too.
   */
  async #fetchOnce(media: MediaUrl, log: (line: string) => void, signal: AbortSignal): Promise<Fetched> {
    if (signal.aborted) throw new InputFetchError(`fetching ${redactUrl(media.url)}: stopped`);
    let shared = this.#inFlight.get(media.url);
    if (shared) {
      log(`input ${redactUrl(media.url)}: another slot of this worker is fetching it; waiting`);
    } else {
      const stop = new AbortController();
      const promise = this.#fetchLocked(media, log, stop.signal).finally(() =>
        this.#inFlight.delete(media.url),
      );
      shared = { promise, stop, waiters: 0 };
      this.#inFlight.set(media.url, shared);
    }
    const download = shared;
    download.waiters++;
    const stopped = Promise.withResolvers<never>();
    const leave = () => {
      stopped.reject(new InputFetchError(`fetching ${redactUrl(media.url)}: stopped`));
      if (--download.waiters === 0) download.stop.abort();
    };
    signal.addEventListener("abort", leave, { once: true });
    try {
      return await Promise.race([download.promise, stopped.promise]);
    } finally {
      if (!signal.aborted) {
        signal.removeEventListener("abort", leave);
        download.waiters--;
      }
    }
  }

  async #fetchLocked(media: MediaUrl, log: (line: string) => void, signal: AbortSignal): Promise<Fetched> {
    const shown = redactUrl(media.url);
    const lock = await HostLock.acquire(
      path.join(this.#options.dir, "locks", `${sha256Hex(media.url)}.lock`),
      {
        purpose: `fetching input ${shown}`,
        pollMs: 100,
        onWait: (holder) =>
          log(`input ${shown}: waiting for ${holder ? `pid ${holder.pid}` : "another process"} to fetch it`),
      },
    );
    try {
      const cached = await this.#lookup(media);
      if (cached) return cached;
      return { sha256: await this.#download(media, log, signal), fetched: true };
    } finally {
      await lock.release();
    }
  }

  async #download(media: MediaUrl, log: (line: string) => void, signal: AbortSignal): Promise<string> {
    const { dir, sources, logger } = this.#options;
    const shown = redactUrl(media.url);
    const source = sources[media.scheme];
    if (!source) {
      throw new InputFetchError(`${shown}: this worker has no settings to read ${media.scheme}:// inputs`);
    }
    const stall = new AbortController();
    let stallTimer: NodeJS.Timeout | undefined;
    const armStall = () => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => stall.abort(), this.#options.stallTimeoutMs ?? 60_000);
    };
    const temporary = path.join(dir, "tmp", `${process.pid}-${randomBytes(6).toString("hex")}.part`);
    const started = performance.now();
    armStall();
    try {
      const body = await source.open(media, AbortSignal.any([signal, stall.signal]));
      const announced = body.size === undefined ? "" : ` (${(body.size / MIB).toFixed(1)} MiB)`;
      log(`input ${shown}: fetching into this host's input cache${announced}`);
      logger.info({ url: shown, bytes: body.size }, "fetching an input");
      const sha256 = createHash("sha256");
      const md5 = body.md5 ? createHash("md5") : undefined;
      let received = 0;
      await pipeline(
        body.stream,
        async function* (chunks: AsyncIterable<Uint8Array>) {
          for await (const chunk of chunks) {
            armStall();
            received += chunk.byteLength;
            sha256.update(chunk);
            md5?.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(temporary),
        { signal: AbortSignal.any([signal, stall.signal]) },
      ).catch((error: unknown) => {
        const why = signal.aborted ? "stopped" : stall.signal.aborted ? "no data for a while" : String(error);
        throw new InputFetchError(`fetching ${shown} failed after ${received} bytes: ${why}`);
      });
      const digest = sha256.digest("hex");
      this.#verify(shown, { received, digest, md5: md5?.digest("hex") }, body, media.sha256);
      await this.#place(temporary, digest);
      await this.#index.put(media.url, digest, received);
      const seconds = (performance.now() - started) / 1000;
      log(
        `input ${shown}: fetched ${(received / MIB).toFixed(1)} MiB in ${seconds.toFixed(1)} s (sha256 ${digest})`,
      );
      return digest;
    } finally {
      clearTimeout(stallTimer);
      await rm(temporary, { force: true });
    }
  }

  #verify(
    shown: string,
    got: { received: number; digest: string; md5: string | undefined },
    body: { size: number | undefined; md5: string | undefined },
    pinned: string | undefined,
  ): void {
    if (body.size !== undefined && got.received !== body.size) {
      throw new InputFetchError(`fetching ${shown}: received ${got.received} bytes of ${body.size}`);
    }
    if (body.md5 && got.md5 !== body.md5) {
      throw new InputFetchError(`fetching ${shown}: MD5 ${got.md5} is not the ${body.md5} the source gave`);
    }
    if (pinned && got.digest !== pinned) {
      throw new InputChecksumError(`${shown} has sha256 ${got.digest}, the task pins ${pinned}`);
    }
  }

  /** Links the download to its content address: an existing file there is the same content, and stays. */
  async #place(temporary: string, sha256: string): Promise<void> {
    try {
      await link(temporary, path.join(this.#options.dir, sha256));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }

  /** Downloads left by worker processes that died during them. */
  async #removeDeadDownloads(): Promise<void> {
    const folder = path.join(this.#options.dir, "tmp");
    for (const name of await readdir(folder)) {
      const pid = Number(name.split("-")[0]);
      if (!Number.isInteger(pid) || !processIsAlive(pid)) await rm(path.join(folder, name), { force: true });
    }
  }
}
