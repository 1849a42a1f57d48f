import { modelQueueName } from "@wgp-farm/queue";
import { Bucket } from "@wgp-farm/storage";
import { S3TestServer } from "@wgp-farm/storage/test-server";
import { startTestWorker, waitUntil } from "@wgp-farm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeToken, openTestApi, type TestApi, task } from "./support/test-api.js";

const BUCKET = "api-results";
const VIDEO = "not a real video, ".repeat(300);
let server: S3TestServer;
let api: TestApi;
let owner: string;

beforeAll(async () => {
  server = await S3TestServer.start({ buckets: [BUCKET] });
  // The API signs links with credentials from the AWS chain, here the environment.
  Object.assign(process.env, server.env());
  api = await openTestApi({ outputStore: `s3://${BUCKET}/farm`, ...server.settings });
  owner = await makeToken(api, ["submit", "read"]);
  const outputDir = `s3://${BUCKET}/farm/stored-1`;
  const bucket = new Bucket({ bucket: BUCKET, prefix: "" }, server.settings, { setting: "test" });
  try {
    await bucket.putText("farm/stored-1/stored-1.mp4", VIDEO, "video/mp4");
    await bucket.putText("farm/stored-1/result.json", "{}");
  } finally {
    bucket.close();
  }
  const submitted = await api.call("/v1/tasks", { method: "POST", token: owner, json: task("stored-1") });
  expect(submitted.status).toBe(201);
  // A worker publishing to the bucket returns the result's location: the API reads nothing else.
  const queue = modelQueueName("t2v");
  const worker = await startTestWorker(api.farm, queue, async () => ({
    status: "completed",
    output_dir: outputDir,
    main_file: "stored-1.mp4",
    files: [{ name: "stored-1.mp4", size: VIDEO.length, sha256: "0".repeat(64) }],
  }));
  try {
    await waitUntil(async () => (await api.farm.queues.byName(queue).getCompletedCount()) === 1);
  } finally {
    await worker.close();
  }
});

afterAll(async () => {
  await api?.close();
  await server?.stop();
});

describe("GET /v1/tasks/{id}/files/{name} of a result kept in a bucket", () => {
  it("redirects to a presigned link that serves the file", async () => {
    const manual = await fetch(`${api.api.url}/v1/tasks/stored-1/files/stored-1.mp4`, {
      headers: { Authorization: `Bearer ${owner}` },
      redirect: "manual",
    });
    expect(manual.status).toBe(302);
    const location = manual.headers.get("Location") ?? "";
    expect(location).toContain(`${server.endpoint}/${BUCKET}/farm/stored-1/stored-1.mp4?`);
    expect(location).toContain("X-Amz-Signature=");
    const followed = await api.call("/v1/tasks/stored-1/files/stored-1.mp4", { token: owner });
    expect(followed.status).toBe(200);
    expect(await followed.text()).toBe(VIDEO);
  });

  it("links the manifest too, and nothing the result does not list", async () => {
    const manifest = await api.call("/v1/tasks/stored-1/files/result.json", { token: owner });
    expect(manifest.status).toBe(200);
    const missing = await api.call("/v1/tasks/stored-1/files/other.mp4", { token: owner });
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe("file_not_found");
  });
});
