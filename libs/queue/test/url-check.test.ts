import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { createS3Client } from "@wgp-farm/storage";
import { S3RVER_CREDENTIALS, S3TestServer } from "@wgp-farm/storage/test-server";
import { readTaskRecords, TaskValidator } from "@wgp-farm/tasks";
import { type MediaServer, startMediaServer, temporaryDir, uniquePrefix } from "@wgp-farm/testing";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import {
  DEFAULT_RETRY_POLICY,
  FarmConnection,
  HttpProbe,
  type ImportReport,
  RedisTaskSink,
  S3Probe,
  TaskImporter,
  type TaskJobData,
  UrlCheck,
  type UrlCheckOptions,
} from "../src/index.js";

const BUCKET = "inputs";
let server: MediaServer;
let store: S3TestServer;
let s3: S3Client;
let farm: FarmConnection;
let media: { dir: string; remove: () => Promise<void> };

beforeAll(async () => {
  store = await S3TestServer.start({ buckets: [BUCKET] });
  s3 = createS3Client(store.settings, { credentials: S3RVER_CREDENTIALS });
});
afterAll(async () => {
  s3?.destroy();
  await store?.stop();
});
beforeEach(async () => {
  server = await startMediaServer();
  farm = await FarmConnection.open(inject("redisUrl"), uniquePrefix());
  media = await temporaryDir("url-check");
});
afterEach(async () => {
  await server.close();
  await farm.close();
  await media.remove();
});

function checkOf(options: Partial<UrlCheckOptions> = {}): UrlCheck {
  const http = new HttpProbe();
  return new UrlCheck({ probes: { http, https: http, s3: new S3Probe(s3) }, backoffMs: 10, ...options });
}

async function importTasks(tasks: unknown[], urlCheck: UrlCheck): Promise<ImportReport> {
  const text = tasks.map((task) => JSON.stringify(task)).join("\n");
  const validator = new TaskValidator({ mediaRoot: media.dir, allowHttpMedia: true });
  return new TaskImporter(new RedisTaskSink(farm, DEFAULT_RETRY_POLICY)).import(
    readTaskRecords(Readable.from([Buffer.from(text)])),
    validator,
    { source: "test", urlCheck },
  );
}

const task = (id: string, extra: Record<string, unknown>) => ({
  task_id: id,
  model: "t2v",
  prompt: id,
  ...extra,
});

describe("the importer's URL check", () => {
  it("refuses tasks whose inputs are not there (404, 403, no such key), naming task, field and URL", async () => {
    server.serve("/ok.mp4", { body: randomBytes(1000) });
    server.serve("/private.png", { body: Buffer.alloc(0), status: 403 });
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "ok.png", Body: randomBytes(100) }));
    const report = await importTasks(
      [
        task("fine", {
          video_guide_path: `${server.origin}/ok.mp4`,
          image_refs_paths: [`s3://${BUCKET}/ok.png`],
        }),
        task("gone", { video_guide_path: `${server.origin}/gone.mp4|start_frame=3` }),
        task("private", { image_refs_paths: [`s3://${BUCKET}/ok.png`, `${server.origin}/private.png`] }),
        task("no-key", { image_start_paths: `s3://${BUCKET}/missing.png` }),
      ],
      checkOf(),
    );
    expect(report.imported.map((entry) => entry.task_id)).toEqual(["fine"]);
    expect(report.invalid.map(({ task_id, errors }) => [task_id, errors])).toEqual([
      ["gone", [{ path: "video_guide_path", message: `${server.origin}/gone.mp4 answered 404 Not Found` }]],
      [
        "private",
        [{ path: "image_refs_paths[1]", message: `${server.origin}/private.png answered 403 Forbidden` }],
      ],
      ["no-key", [{ path: "image_start_paths[0]", message: `s3://${BUCKET}/missing.png: no such object` }]],
    ]);
    // One question per URL, however many tasks name it.
    expect(server.count("/ok.mp4", "HEAD")).toBe(1);
  });

  it("asks again when the store fails for a while, and lets a task in with a warning when it stays out of reach", async () => {
    server.serve("/flaky.mp4", { body: randomBytes(100), unavailable: 2 });
    const closed = await startMediaServer();
    await closed.close();
    const report = await importTasks(
      [
        task("flaky", { video_guide_path: `${server.origin}/flaky.mp4` }),
        task("unreachable", { video_guide_path: `${closed.origin}/clip.mp4` }),
      ],
      checkOf({ attempts: 3 }),
    );
    expect(server.count("/flaky.mp4", "HEAD")).toBe(3);
    expect(report.imported.map((entry) => entry.task_id)).toEqual(["flaky", "unreachable"]);
    expect(report.warnings).toEqual([
      {
        index: 1,
        task_id: "unreachable",
        warnings: [
          {
            path: "video_guide_path",
            message: expect.stringMatching(
              /^not checked: .*clip\.mp4: .*ECONNREFUSED.*\(3 tries\) \(the worker fetches it/,
            ),
          },
        ],
      },
    ]);
    // The warning travels with the job.
    const job = await farm.queues.forModel("t2v").getJob("unreachable");
    expect((job?.data as TaskJobData | undefined)?.import.warnings).toEqual(report.warnings[0]?.warnings);
  });

  it("refuses an input over the size limit, naming the limit", async () => {
    server.serve("/big.mp4", { body: randomBytes(3 * 1024 * 1024) });
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "big.png", Body: randomBytes(3 * 1024 * 1024) }),
    );
    const report = await importTasks(
      [
        task("big-http", { video_guide_path: `${server.origin}/big.mp4` }),
        task("big-s3", { image_start_paths: `s3://${BUCKET}/big.png` }),
      ],
      checkOf({ maxInputBytes: 2 * 1024 * 1024 }),
    );
    expect(report.imported).toEqual([]);
    expect(report.invalid.flatMap((entry) => entry.errors.map((error) => error.message))).toEqual([
      "video_guide_path is 3 MiB, over the input size limit of 2 MiB (--max-input-size)",
      "image_start_paths[0] is 3 MiB, over the input size limit of 2 MiB (--max-input-size)",
    ]);
  });

  it("never shows a presigned URL's credentials", async () => {
    const secret = "wJalrXUtnFEMI-K7MDENG";
    const url = `${server.origin}/gone.mp4?X-Amz-Credential=${secret}&X-Amz-Signature=${secret}`;
    const report = await importTasks([task("signed", { video_guide_path: url })], checkOf());
    const text = JSON.stringify(report.invalid);
    expect(text).toContain("/gone.mp4?X-Amz-Credential=…&X-Amz-Signature=… answered 404");
    expect(text).not.toContain(secret);
  });
});
