import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile, stat, utimes } from "node:fs/promises";
import path from "node:path";
import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { Logger } from "@wgp-farm/config";
import { createS3Client } from "@wgp-farm/storage";
import { S3RVER_CREDENTIALS, S3TestServer } from "@wgp-farm/storage/test-server";
import { type MediaUrl, parseMediaUrl, type WanGPSettingsPlan } from "@wgp-farm/tasks";
import { type MediaServer, startMediaServer, temporaryDir } from "@wgp-farm/testing";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HttpInputSource } from "../src/inputs/http-source.js";
import { InputCache, type InputCacheOptions } from "../src/inputs/input-cache.js";
import { InputChecksumError, InputFetchError, InputMissingError } from "../src/inputs/input-source.js";
import { fileNameOf, localizeJobInputs } from "../src/inputs/job-inputs.js";
import { S3InputSource } from "../src/inputs/s3-source.js";
import { MissingMediaError } from "../src/job/media-check.js";

const sha256 = (body: Buffer) => createHash("sha256").update(body).digest("hex");
const noLog = () => {};
const never = new AbortController().signal;

/** A logger whose lines the test reads (to check that nothing secret is logged). */
function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: "debug" }, sink) as unknown as Logger, lines };
}

function mediaOf(url: string): MediaUrl {
  const media = parseMediaUrl(url, { allowHttp: true });
  if ("problem" in media) throw new Error(media.problem);
  return media;
}

let server: MediaServer;
let cacheDir: string;
let removeDir: () => Promise<void>;
let logLines: string[];
let logger: Logger;

beforeEach(async () => {
  server = await startMediaServer();
  ({ dir: cacheDir, remove: removeDir } = await temporaryDir("input-cache"));
  ({ logger, lines: logLines } = capturingLogger());
});
afterEach(async () => {
  await server.close();
  await removeDir();
});

function openCache(options: Partial<InputCacheOptions> = {}): Promise<InputCache> {
  const http = new HttpInputSource();
  return InputCache.open({
    dir: cacheDir,
    maxBytes: 1024 ** 3,
    maxAgeMs: 3_600_000,
    sources: { http, https: http },
    logger,
    ...options,
  });
}

async function contentFiles(): Promise<string[]> {
  return (await readdir(cacheDir)).filter((name) => /^[0-9a-f]{64}$/.test(name)).sort();
}

describe("the input cache", () => {
  it("fetches an input once for concurrent slots and worker processes, then serves it from the cache", async () => {
    const body = randomBytes(2 * 1024 * 1024);
    server.serve("/clip.mp4", { body, chunkDelayMs: 5 });
    const media = mediaOf(`${server.origin}/clip.mp4`);
    const [workerA, workerB] = await Promise.all([openCache(), openCache()]);
    // Two slots of one worker, and a slot of a second worker process on the same host.
    const held = await Promise.all([
      workerA.acquire(media, noLog, never),
      workerA.acquire(media, noLog, never),
      workerB.acquire(media, noLog, never),
    ]);
    expect(server.count("/clip.mp4", "GET")).toBe(1);
    // The first worker's slots shared one download; the other worker waited and found it cached (or the reverse).
    expect(held[1]?.fetched).toBe(held[0]?.fetched);
    expect(held[2]?.fetched).toBe(!held[0]?.fetched);
    for (const input of held) {
      expect(input.sha256).toBe(sha256(body));
      expect(input.path).toBe(path.join(cacheDir, sha256(body)));
      expect(input.size).toBe(body.length);
    }
    expect(await readFile(held[0]?.path ?? "")).toEqual(body);
    await Promise.all(held.map((input) => input.release()));

    const again = await workerB.acquire(media, noLog, never);
    expect(again.fetched).toBe(false);
    expect(server.count("/clip.mp4")).toBe(1);
    await again.release();
    expect(await readdir(path.join(cacheDir, "tmp"))).toEqual([]);
  });

  it("a slot that stops waiting (its job cancelled) leaves the shared download to the other slot", async () => {
    const body = randomBytes(1024 * 1024);
    server.serve("/shared.mp4", { body, chunkDelayMs: 20 });
    const cache = await openCache();
    const media = mediaOf(`${server.origin}/shared.mp4`);
    const cancelled = new AbortController();
    const first = cache.acquire(media, noLog, cancelled.signal);
    const second = cache.acquire(media, noLog, never);
    while (server.count("/shared.mp4") === 0) await sleep(10);
    cancelled.abort();
    await expect(first).rejects.toThrow(/stopped/);
    const input = await second;
    expect(input.sha256).toBe(sha256(body));
    expect(server.count("/shared.mp4", "GET")).toBe(1);
    await input.release();
  });

  it("a #sha256= pin finds the file without asking the server, whatever URL holds it", async () => {
    const body = randomBytes(4096);
    server.serve("/a.png", { body });
    const cache = await openCache();
    await (await cache.acquire(mediaOf(`${server.origin}/a.png`), noLog, never)).release();
    const pinned = await cache.acquire(
      mediaOf(`${server.origin}/elsewhere.png#sha256=${sha256(body)}`),
      noLog,
      never,
    );
    expect(pinned.fetched).toBe(false);
    expect(server.count("/elsewhere.png")).toBe(0);
    await pinned.release();
  });

  it("refuses a file that is not the one pinned, and keeps nothing of it", async () => {
    server.serve("/wrong.mp4", { body: randomBytes(4096) });
    const cache = await openCache();
    const pin = "0".repeat(64);
    const fetching = cache.acquire(mediaOf(`${server.origin}/wrong.mp4#sha256=${pin}`), noLog, never);
    await expect(fetching).rejects.toThrow(InputChecksumError);
    await expect(fetching).rejects.toThrow(`the task pins ${pin}`);
    expect(await contentFiles()).toEqual([]);
    expect(await readdir(path.join(cacheDir, "tmp"))).toEqual([]);
  });

  it("a transfer that does not match the source's Content-MD5 or size is refused, and retried cleanly", async () => {
    const body = randomBytes(300 * 1024);
    server.serve("/md5.mp4", { body, contentMd5: createHash("md5").update("other").digest("base64") });
    server.serve("/cut.mp4", { body, cutAfter: { bytes: 100 * 1024, times: 1 } });
    const cache = await openCache();
    await expect(cache.acquire(mediaOf(`${server.origin}/md5.mp4`), noLog, never)).rejects.toThrow(/MD5/);
    await expect(cache.acquire(mediaOf(`${server.origin}/cut.mp4`), noLog, never)).rejects.toThrow(
      InputFetchError,
    );
    // The network came back: the next attempt fetches it whole.
    const input = await cache.acquire(mediaOf(`${server.origin}/cut.mp4`), noLog, never);
    expect(input.sha256).toBe(sha256(body));
    expect(server.count("/cut.mp4")).toBe(2);
    await input.release();
  });

  it("a missing input is an InputMissingError, and no credential of the URL reaches errors or logs", async () => {
    const cache = await openCache();
    const secret = "AKIAEXAMPLESECRET";
    const url = `${server.origin}/gone.mp4?X-Amz-Credential=${secret}&X-Amz-Signature=${secret}`;
    const fetching = cache.acquire(mediaOf(url), noLog, never);
    await expect(fetching).rejects.toThrow(InputMissingError);
    const message = await fetching.catch((error: Error) => error.message);
    expect(message).toContain("/gone.mp4?X-Amz-Credential=…&X-Amz-Signature=…");
    expect(message).toContain("404");
    expect(message).not.toContain(secret);

    server.serve("/signed.mp4", { body: randomBytes(1024) });
    const jobLog: string[] = [];
    const signed = `${server.origin}/signed.mp4?X-Amz-Signature=${secret}`;
    await (await cache.acquire(mediaOf(signed), (line) => jobLog.push(line), never)).release();
    const indexText = await Promise.all(
      (await readdir(path.join(cacheDir, "index"))).map((name) =>
        readFile(path.join(cacheDir, "index", name), "utf8"),
      ),
    );
    expect(jobLog.length).toBeGreaterThan(0);
    expect(logLines.length).toBeGreaterThan(0);
    expect([...jobLog, ...logLines, ...indexText].join("\n")).not.toContain(secret);
  });

  it("evicts by size, least recently used first, but never a file a job holds", async () => {
    const bodies = [0, 1, 2].map(() => randomBytes(100 * 1024));
    for (const [index, body] of bodies.entries()) server.serve(`/${index}.bin`, { body });
    const cache = await openCache({ maxBytes: 250 * 1024 });
    const first = await cache.acquire(mediaOf(`${server.origin}/0.bin`), noLog, never);
    await utimes(first.path, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const second = await cache.acquire(mediaOf(`${server.origin}/1.bin`), noLog, never);
    await second.release();
    await utimes(second.path, new Date(Date.now() - 30_000), new Date(Date.now() - 30_000));
    const third = await cache.acquire(mediaOf(`${server.origin}/2.bin`), noLog, never);
    await third.release();
    // Over the limit: the oldest (the first) is held by a job, so the next oldest goes.
    const result = await cache.evict();
    expect(result).toMatchObject({ removed: [sha256(bodies[1] as Buffer)], inUse: 1 });
    expect(await contentFiles()).toEqual([sha256(bodies[0] as Buffer), sha256(bodies[2] as Buffer)].sort());
    expect(await readFile(first.path)).toEqual(bodies[0]);
    await first.release();
    expect(await cache.evict()).toEqual({ removed: [], bytes: 200 * 1024, inUse: 0 });
    // Its index entry went with it: the URL is fetched again.
    const refetched = await cache.acquire(mediaOf(`${server.origin}/1.bin`), noLog, never);
    expect(refetched.fetched).toBe(true);
    await refetched.release();
  });

  it("evicts inputs unused for longer than the age limit", async () => {
    server.serve("/old.bin", { body: randomBytes(1024) });
    server.serve("/new.bin", { body: randomBytes(1024) });
    const cache = await openCache({ maxAgeMs: 60_000 });
    const old = await cache.acquire(mediaOf(`${server.origin}/old.bin`), noLog, never);
    await old.release();
    await (await cache.acquire(mediaOf(`${server.origin}/new.bin`), noLog, never)).release();
    await cache.evict(); // the one each use starts, on the cache as it was
    await utimes(old.path, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
    expect((await cache.evict()).removed).toEqual([old.sha256]);
    expect(await contentFiles()).toHaveLength(1);
  });
});

describe("a job's inputs", () => {
  const planWith = (settings: Record<string, unknown>): WanGPSettingsPlan => ({
    settings: { model_type: "t2v", prompt: "p", seed: 1, ...settings },
    notes: [],
    causvid: false,
  });

  it("point the settings at the cached files, keep virtual-media suffixes and record URL and sha256", async () => {
    const video = randomBytes(8192);
    const image = randomBytes(1024);
    server.serve("/v.mp4", { body: video });
    server.serve("/i.png", { body: image });
    const cache = await openCache();
    const plan = planWith({
      video_source: `${server.origin}/v.mp4|start_frame=4,end_frame=20`,
      image_refs: ["/local/ref.png", `${server.origin}/i.png?token=abc`],
    });
    const inputs = await localizeJobInputs(plan, cache, noLog, never);
    // Each under its URL's file name (WanGP goes by the extension): a link to the cached content.
    const [videoPath, suffix] = String(plan.settings.video_source).split("|");
    expect(suffix).toBe("start_frame=4,end_frame=20");
    expect(path.relative(cacheDir, videoPath ?? "")).toMatch(/^named\/[^/]+\/v\.mp4$/);
    const [local, imagePath] = plan.settings.image_refs as string[];
    expect(local).toBe("/local/ref.png");
    expect(path.relative(cacheDir, imagePath ?? "")).toMatch(/^named\/[^/]+\/i\.png$/);
    expect((await stat(videoPath ?? "")).ino).toBe((await stat(path.join(cacheDir, sha256(video)))).ino);
    expect(plan.notes).toEqual([
      `input image_refs[1]: ${server.origin}/i.png?token=… sha256 ${sha256(image)} (fetched)`,
      `input video_source: ${server.origin}/v.mp4 sha256 ${sha256(video)} (fetched)`,
    ]);
    await inputs.release();
    expect(await readdir(path.join(cacheDir, "named"))).toEqual([]);
  });

  it("name each input after its URL's last path segment, in characters WanGP reads as a file name", () => {
    expect(fileNameOf(mediaOf("https://example.com/clips/a%20b.mp4?X-Amz-Signature=abc"))).toBe("a_b.mp4");
    expect(fileNameOf(mediaOf("s3://bucket/in/start%7Cframe.PNG"))).toBe("start_frame.PNG");
    expect(fileNameOf(mediaOf("https://example.com/"))).toBe("input");
    expect(fileNameOf(mediaOf("https://example.com/..%2F..%2Fetc"))).toBe("_.._etc");
  });

  it("a missing input makes the task invalid, naming the field", async () => {
    server.serve("/ok.png", { body: randomBytes(100) });
    const cache = await openCache();
    const plan = planWith({
      image_start: `${server.origin}/ok.png`,
      audio_guide: `${server.origin}/missing.wav`,
    });
    const localizing = localizeJobInputs(plan, cache, noLog, never);
    await expect(localizing).rejects.toThrow(MissingMediaError);
    await expect(localizing).rejects.toThrow(/audio_guide: .*missing\.wav answered 404/);
    // What was fetched for it is not held: eviction may take it.
    expect((await cache.evict()).inUse).toBe(0);
  });
});

describe("s3:// inputs", () => {
  const BUCKET = "inputs";
  let store: S3TestServer;
  let client: S3Client;

  beforeAll(async () => {
    store = await S3TestServer.start({ buckets: [BUCKET] });
    client = createS3Client(store.settings, { credentials: S3RVER_CREDENTIALS });
  });
  afterAll(async () => {
    client?.destroy();
    await store?.stop();
  });

  const s3Cache = (credentials: { accessKeyId: string; secretAccessKey: string } = S3RVER_CREDENTIALS) =>
    openCache({
      sources: { s3: new S3InputSource(createS3Client(store.settings, { credentials })) },
    });

  it("are fetched from the store once per host, checked against the object's ETag", async () => {
    const body = randomBytes(600 * 1024);
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "clips/a b.mp4", Body: body }));
    const [workerA, workerB] = await Promise.all([s3Cache(), s3Cache()]);
    const media = mediaOf(`s3://${BUCKET}/clips/a%20b.mp4`);
    const held = await Promise.all([
      workerA.acquire(media, noLog, never),
      workerB.acquire(media, noLog, never),
    ]);
    expect(held.map((input) => input.fetched).sort()).toEqual([false, true]);
    expect(await readFile(held[0]?.path ?? "")).toEqual(body);
    await Promise.all(held.map((input) => input.release()));
  });

  it("a missing key or bucket is an InputMissingError; refused credentials are worth another attempt", async () => {
    const cache = await s3Cache();
    await expect(cache.acquire(mediaOf(`s3://${BUCKET}/nope.mp4`), noLog, never)).rejects.toThrow(
      InputMissingError,
    );
    await expect(cache.acquire(mediaOf("s3://no-such-bucket/a.mp4"), noLog, never)).rejects.toThrow(
      InputMissingError,
    );
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "b.mp4", Body: randomBytes(10) }));
    const wrong = await s3Cache({ accessKeyId: "WRONG", secretAccessKey: "WRONG" });
    const fetching = wrong.acquire(mediaOf(`s3://${BUCKET}/b.mp4`), noLog, never);
    await expect(fetching).rejects.toThrow(InputFetchError);
    await expect(fetching).rejects.toThrow(/credentials/);
  });

  it("are checked against the sha256 metadata the farm's uploads carry, and kept nowhere when it differs", async () => {
    const body = randomBytes(1000);
    const put = (Key: string, digest: string) =>
      client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: body, Metadata: { sha256: digest } }));
    await put("vouched.mp4", sha256(body));
    await put("altered.mp4", "0".repeat(64));
    const cache = await s3Cache();
    const held = await cache.acquire(mediaOf(`s3://${BUCKET}/vouched.mp4`), noLog, never);
    await held.release();
    await expect(cache.acquire(mediaOf(`s3://${BUCKET}/altered.mp4`), noLog, never)).rejects.toThrow(
      /sha256 [0-9a-f]{64} is not the 0{64} the source gave/,
    );
    expect(await contentFiles()).toEqual([sha256(body)]);
  });

  it("hand an input out under a name of its own (a post-step's source), removed at release", async () => {
    const body = randomBytes(2000);
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "results/clip/clip.mp4", Body: body }));
    const cache = await s3Cache();
    const named = await cache.acquireNamed(
      mediaOf(`s3://${BUCKET}/results/clip/clip.mp4`),
      "clip.mp4",
      noLog,
      never,
    );
    expect(path.basename(named.path)).toBe("clip.mp4");
    expect(await readFile(named.path)).toEqual(body);
    expect(named.sha256).toBe(sha256(body));
    await named.release();
    expect(await readdir(path.join(cacheDir, "named"))).toEqual([]);
    expect(await contentFiles()).toEqual([sha256(body)]);
  });
});
