/**
 * The worker's input cache: a second task with the same input given by URL (a hit) against the
 * first one that fetches it (a miss: download over loopback HTTP, sha256 while writing, link into
 * the cache). Each run starts from an empty cache; the hit is asked by a second cache instance on
 * the same folder, as a second worker process on the host would. Needs a build (`npx turbo run build`).
 *
 *   node test/bench/input-cache-bench.ts [--size-mb 200] [--runs 3]
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createLogger } from "@wgp-farm/config";
import { parseMediaUrl } from "@wgp-farm/tasks";
import { HttpInputSource, InputCache } from "@wgp-farm/worker";
import { startMediaServer } from "../../libs/testing/src/media-server.ts";
import { median, printBenchResult } from "./bench-result.ts";

const { values } = parseArgs({
  options: { "size-mb": { type: "string", default: "200" }, runs: { type: "string", default: "3" } },
});
const sizeMb = Number(values["size-mb"]);
const runs = Number(values.runs);

const server = await startMediaServer();
const body = randomBytes(sizeMb * 1024 * 1024);
server.serve("/input.mp4", { body });
const media = parseMediaUrl(`${server.origin}/input.mp4`, { allowHttp: true });
if ("problem" in media) throw new Error(media.problem);
const logger = createLogger({ name: "bench", level: "silent" });
const http = new HttpInputSource();
const never = new AbortController().signal;
const openCache = (dir: string) =>
  InputCache.open({ dir, maxBytes: 100 * 1024 ** 3, maxAgeMs: 3_600_000, sources: { http }, logger });

const missMs: number[] = [];
const hitMs: number[] = [];
try {
  for (let run = 0; run < runs; run++) {
    const dir = await mkdtemp(path.join(tmpdir(), "wgp-farm-input-bench-"));
    try {
      const first = await openCache(dir);
      let started = performance.now();
      const fetched = await first.acquire(media, () => {}, never);
      missMs.push(performance.now() - started);
      await fetched.release();
      const second = await openCache(dir);
      started = performance.now();
      const cached = await second.acquire(media, () => {}, never);
      hitMs.push(performance.now() - started);
      if (cached.fetched) throw new Error("the second task fetched the input again");
      await cached.release();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
} finally {
  await server.close();
}

const miss = median(missMs);
const hit = median(hitMs);
printBenchResult({
  title: "Input cache: a second task with the same input",
  method: `${sizeMb} MiB input over loopback HTTP, ${runs} runs from an empty cache, median; miss = download + sha256 + link, hit = look-up + hold by a second cache instance`,
  rows: [
    { measure: `first task (miss), ${sizeMb} MiB`, value: `${miss.toFixed(0)} ms` },
    { measure: "miss throughput", value: `${((sizeMb / miss) * 1000).toFixed(0)} MiB/s` },
    { measure: "second task (hit)", value: `${hit.toFixed(2)} ms` },
    {
      measure: "time a hit saves",
      value: `${(miss - hit).toFixed(0)} ms (${(miss / hit).toFixed(0)}× faster)`,
    },
  ],
  notes: [
    "Loopback has no network latency or bandwidth limit: a real store makes the miss slower, the hit stays the same.",
    `GET requests to the server: ${server.count("/input.mp4", "GET")} for ${runs} runs (one per run).`,
  ],
  details: { missMs, hitMs, sizeMb },
});
