import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { modelQueueName } from "@wgp-farm/queue";
import { parseMediaUrl } from "@wgp-farm/tasks";
import { type MediaServer, startMediaServer, temporaryDir } from "@wgp-farm/testing";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ResultManifest, ResultSummary } from "../src/index.js";
import { EXTRA_CA_ENV, HttpInputSource } from "../src/inputs/http-source.js";
import { InputFetchError } from "../src/inputs/input-source.js";
import {
  FAST_RETRY,
  importTasks,
  readRecords,
  spawnWorkerProcess,
  startWorker,
  testFarm,
  waitForJob,
} from "./support.js";

let server: MediaServer;
beforeEach(async () => {
  server = await startMediaServer();
});
afterEach(async () => {
  await server.close();
});

/** As `import-tasks --allow-http-media` (the test server is plain http on loopback). */
const HTTP_MEDIA = { allowHttpMedia: true };

/** A cached input as WanGP sees it: a link under the URL's file name, the virtual-media suffix after it. */
const NAMED_GUIDE = /\/named\/[^/]+\/guide\.mp4\|start_frame=2,end_frame=8$/;

describe("media inputs by URL", () => {
  it("reach WanGP as the host's cached file, fetched once for two slots; result.json records URL and sha256", async () => {
    const tf = await testFarm("url-inputs");
    const video = randomBytes(1024 * 1024);
    const sha256 = createHash("sha256").update(video).digest("hex");
    server.serve("/guide.mp4", { body: video, chunkDelayMs: 20 });
    const url = `${server.origin}/guide.mp4`;
    const task = (id: string) => ({
      task_id: id,
      prompt: `a lighthouse (${id})`,
      model: "vace_14B",
      video_guide_path: `${url}|start_frame=2,end_frame=8`,
    });
    await importTasks(tf, [task("first"), task("second")], FAST_RETRY, HTTP_MEDIA);
    const cacheDir = path.join(tf.dir, "cache");
    await startWorker(tf, { slots: 2, inputCacheDir: cacheDir });
    for (const id of ["first", "second"]) {
      const job = await waitForJob(tf, id, modelQueueName("vace_14B"));
      expect(job.failedReason ?? "ok").toBe("ok");
      const summary = job.returnvalue as ResultSummary;
      const manifest = JSON.parse(
        await readFile(path.join(summary.output_dir, "result.json"), "utf8"),
      ) as ResultManifest;
      expect(manifest.settings.video_guide).toMatch(NAMED_GUIDE);
      expect(manifest.notes).toContainEqual(
        expect.stringMatching(`^input video_guide: ${url} sha256 ${sha256}`),
      );
    }
    expect(server.count("/guide.mp4", "GET")).toBe(1);
    const submitted = (await readRecords(tf.recordFile)).filter((record) => record.event === "submit");
    // Each slot's WanGP got the one cached copy under the URL's file name (a link, gone with the job).
    const guides = submitted.map((record) => String(record.params?.video_guide));
    expect(guides).toHaveLength(2);
    for (const guide of guides) expect(guide).toMatch(NAMED_GUIDE);
    expect(await readdir(cacheDir)).toContain(sha256);
    expect(await readdir(path.join(cacheDir, "named"))).toEqual([]);
  });

  it("a start image given by URL reaches WanGP under the URL's file name: WanGP goes by its extension", async () => {
    const tf = await testFarm("url-inputs-image");
    const image = randomBytes(2048);
    server.serve("/frames/first%20frame.png", { body: image });
    const task = {
      task_id: "i2v-url",
      prompt: "a lighthouse wakes",
      model: "i2v",
      image_start_paths: `${server.origin}/frames/first%20frame.png?token=abc`,
    };
    await importTasks(tf, [task], FAST_RETRY, HTTP_MEDIA);
    const cacheDir = path.join(tf.dir, "cache");
    await startWorker(tf, { inputCacheDir: cacheDir });
    const job = await waitForJob(tf, "i2v-url", modelQueueName("i2v"));
    expect(job.failedReason ?? "ok").toBe("ok");
    const [submitted] = (await readRecords(tf.recordFile)).filter((record) => record.event === "submit");
    const start = submitted?.params?.image_start;
    const first = Array.isArray(start) ? start[0] : start;
    expect(path.relative(cacheDir, String(first))).toMatch(/^named\/[^/]+\/first_frame\.png$/);
    const sha256 = createHash("sha256").update(image).digest("hex");
    expect(await readdir(cacheDir)).toContain(sha256);
    expect(await readdir(path.join(cacheDir, "named"))).toEqual([]);
  });

  it("an input that is gone fails its task as invalid, without retries", async () => {
    const tf = await testFarm("url-inputs-gone");
    await importTasks(
      tf,
      [{ task_id: "gone", prompt: "p", model: "vace_14B", video_guide_path: `${server.origin}/gone.mp4` }],
      FAST_RETRY,
      HTTP_MEDIA,
    );
    await startWorker(tf, { inputCacheDir: path.join(tf.dir, "cache") });
    const job = await waitForJob(tf, "gone", modelQueueName("vace_14B"));
    expect(job.failedReason).toMatch(/^invalid: .*video_guide: .*gone\.mp4 answered 404/);
    expect(job.attemptsMade).toBe(1);
  });
});

/**
 * A CA and a certificate it signs for 127.0.0.1, made with the openssl CLI for this run (and a second
 * CA that nobody trusts): an https server as one with a private CA is.
 */
async function testCertificates(dir: string): Promise<{ ca: string; key: string; cert: string }> {
  const file = (name: string) => path.join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await execa("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    file("ca.key"),
    "-out",
    file("ca.pem"),
    "-days",
    "1",
    "-subj",
    "/CN=wgp-farm test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await execa("openssl", [
    "req",
    ...ec,
    "-keyout",
    file("server.key"),
    "-out",
    file("server.csr"),
    "-subj",
    "/CN=127.0.0.1",
  ]);
  await writeFile(file("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  await execa("openssl", [
    "x509",
    "-req",
    "-in",
    file("server.csr"),
    "-CA",
    file("ca.pem"),
    "-CAkey",
    file("ca.key"),
    "-CAcreateserial",
    "-out",
    file("server.pem"),
    "-days",
    "1",
    "-extfile",
    file("server.ext"),
  ]);
  return {
    ca: file("ca.pem"),
    key: await readFile(file("server.key"), "utf8"),
    cert: await readFile(file("server.pem"), "utf8"),
  };
}

describe("https inputs from a server with a private CA", () => {
  let tls: { ca: string; key: string; cert: string };
  let removeTls: (() => Promise<void>) | undefined;
  let https: Server;
  let origin: string;
  const video = randomBytes(256 * 1024);
  const sha256 = createHash("sha256").update(video).digest("hex");

  beforeAll(async () => {
    const { dir, remove } = await temporaryDir("tls");
    removeTls = remove;
    tls = await testCertificates(dir);
    https = createServer({ key: tls.key, cert: tls.cert }, (request, response) => {
      if (request.url !== "/guide.mp4") return void response.writeHead(404).end();
      response.writeHead(200, { "content-type": "video/mp4", "content-length": video.length }).end(video);
    });
    await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
    origin = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => https?.close(resolve));
    await removeTls?.();
  });

  it("refuses a certificate no trusted CA signed, saying how to trust the CA", async () => {
    const media = parseMediaUrl(`${origin}/guide.mp4`);
    if ("problem" in media) throw new Error(media.problem);
    const failure = await new HttpInputSource()
      .open(media, new AbortController().signal)
      .catch((error) => error);
    expect(failure).toBeInstanceOf(InputFetchError);
    expect(String(failure)).toMatch(
      new RegExp(`the server's certificate is not trusted \\(\\w+: .+\\); .*${EXTRA_CA_ENV}=/path/to/ca.pem`),
    );
  });

  it(`a worker started with ${EXTRA_CA_ENV} naming the CA fetches the input`, async () => {
    const tf = await testFarm("https-private-ca");
    await importTasks(tf, [
      { task_id: "tls", prompt: "a lighthouse", model: "vace_14B", video_guide_path: `${origin}/guide.mp4` },
    ]);
    spawnWorkerProcess(tf, "tls-host", ["--input-cache-dir", path.join(tf.dir, "cache")], {
      [EXTRA_CA_ENV]: tls.ca,
    });
    const job = await waitForJob(tf, "tls", modelQueueName("vace_14B"), ["completed", "failed"], 60_000);
    expect(job.failedReason ?? "ok").toBe("ok");
    const manifest = JSON.parse(
      await readFile(path.join((job.returnvalue as ResultSummary).output_dir, "result.json"), "utf8"),
    ) as ResultManifest;
    expect(manifest.notes).toContainEqual(
      expect.stringMatching(`^input video_guide: ${origin}/guide.mp4 sha256 ${sha256}`),
    );
  });
});
