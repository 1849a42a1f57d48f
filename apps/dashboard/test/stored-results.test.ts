import { createLogger } from "@wgp-farm/config";
import { Bucket } from "@wgp-farm/storage";
import { S3RVER_CREDENTIALS, S3TestServer } from "@wgp-farm/storage/test-server";
import { uniquePrefix } from "@wgp-farm/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { formatReturnValue } from "../src/board/job-formatters.js";
import { type RunningDashboard, startDashboard } from "../src/index.js";

const BUCKET = "board-results";
const OUTPUT_DIR = `s3://${BUCKET}/farm/shot-1`;
let server: S3TestServer;
let dashboard: RunningDashboard;

beforeAll(async () => {
  server = await S3TestServer.start({ buckets: [BUCKET] });
  const bucket = new Bucket({ bucket: BUCKET, prefix: "" }, server.settings, {
    setting: "test",
    credentials: S3RVER_CREDENTIALS,
  });
  await bucket.putText("farm/shot-1/shot-1.mp4", "the video of shot-1", "video/mp4");
  bucket.close();
  // The dashboard signs links with credentials from the AWS chain, here the environment.
  Object.assign(process.env, server.env());
  dashboard = await startDashboard({
    redisUrl: inject("redisUrl"),
    prefix: uniquePrefix("board-s3"),
    port: 0,
    credentials: null,
    outputStore: `s3://${BUCKET}/farm`,
    ...server.settings,
    logger: createLogger({ name: "dashboard", level: "silent" }),
  });
});

afterAll(async () => {
  await dashboard?.close();
  await server?.stop();
});

describe("the board's links to results kept in a bucket", () => {
  it("gives each file of a stored result a link that redirects to a presigned URL serving it", async () => {
    const shown = formatReturnValue({
      output_dir: OUTPUT_DIR,
      files: [{ name: "shot-1.mp4", size: 19 }],
      timings: { total_s: 3 },
    }) as { files: { url: string }[] };
    const url = shown.files[0]?.url ?? "";
    expect(url).toMatch(/^\/result-files\?dir=s3%3A%2F%2Fboard-results%2Ffarm%2Fshot-1&name=shot-1\.mp4$/);

    const manual = await fetch(new URL(url, dashboard.url), { redirect: "manual" });
    expect(manual.status).toBe(302);
    expect(manual.headers.get("Location")).toContain("X-Amz-Signature=");
    expect(await (await fetch(new URL(url, dashboard.url))).text()).toBe("the video of shot-1");
  });

  it("links nothing for a folder result, and refuses results outside its store", async () => {
    const folder = formatReturnValue({ output_dir: "/outputs/x", files: [{ name: "x.mp4" }], timings: {} });
    expect((folder as { files: object[] }).files[0]).not.toHaveProperty("url");
    const outside = new URLSearchParams({ dir: `s3://${BUCKET}/elsewhere/x`, name: "x.mp4" });
    expect(
      (await fetch(new URL(`/result-files?${outside}`, dashboard.url), { redirect: "manual" })).status,
    ).toBe(404);
  });
});
