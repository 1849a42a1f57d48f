import { createHash } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Logger } from "@wgp-farm/config";
import { HostLock } from "@wgp-farm/host";

/** Where the gate's lock and marker live: one folder per host, shared by every worker process on it. */
const GATE_DIR = path.join(os.tmpdir(), "wgp-farm-first-start");

/** What the marker records: the checkout's `wgp.py` as it was when an engine last started on it. */
async function checkoutStamp(wangpRoot: string): Promise<string> {
  const info = await stat(path.join(wangpRoot, "wgp.py")).catch(() => undefined);
  return JSON.stringify({
    root: wangpRoot,
    wgp_mtime_ms: info?.mtimeMs ?? null,
    wgp_size: info?.size ?? null,
  });
}

function gateFiles(wangpRoot: string): { lock: string; marker: string } {
  const key = createHash("sha256").update(path.resolve(wangpRoot)).digest("hex").slice(0, 16);
  return { lock: path.join(GATE_DIR, `${key}.lock`), marker: path.join(GATE_DIR, `${key}.started`) };
}

/**
 * Serializes the first WanGP start on a checkout across the host's slots. That start does WanGP's
 * one-time setup (`os.mkdir("settings")` without exist_ok, the ffmpeg download, the LoRA-folder
 * migration, the root `wgp_config.json`), which races when N engines start together. The first
 * slot starts while holding a host lock keyed by the WanGP root; the others wait, then start
 * together once a start has succeeded on this checkout (as it is now: an upgraded `wgp.py` makes
 * the next start a first start again).
 */
export async function startFirstOnHost<T>(
  wangpRoot: string,
  start: () => Promise<T>,
  logger: Logger,
): Promise<T> {
  const files = gateFiles(wangpRoot);
  const stamp = await checkoutStamp(wangpRoot);
  if ((await readFile(files.marker, "utf8").catch(() => "")) === stamp) return start();
  const lock = await HostLock.acquire(files.lock, {
    purpose: `first WanGP start on ${wangpRoot}`,
    pollMs: 200,
    onWait: (holder) =>
      logger.info(
        { holder },
        "another slot is starting WanGP for the first time on this checkout; waiting for it",
      ),
  });
  try {
    // The slot that held the lock before may have done the first start meanwhile.
    if ((await readFile(files.marker, "utf8").catch(() => "")) === stamp) {
      await lock.release();
      return await start();
    }
    const started = await start();
    await writeFile(files.marker, stamp);
    return started;
  } finally {
    await lock.release();
  }
}
