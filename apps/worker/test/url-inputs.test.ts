import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { modelQueueName } from "@wgp-farm/queue";
import { type MediaServer, startMediaServer } from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ResultManifest, ResultSummary } from "../src/index.js";
import { FAST_RETRY, importTasks, readRecords, startWorker, testFarm, waitForJob } from "./support.js";

let server: MediaServer;
beforeEach(async () => {
  server = await startMediaServer();
});
afterEach(async () => {
  await server.close();
});

/** As `import-tasks --allow-http-media` (the test server is plain http on loopback). */
const HTTP_MEDIA = { allowHttpMedia: true };

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
      expect(manifest.settings.video_guide).toBe(`${path.join(cacheDir, sha256)}|start_frame=2,end_frame=8`);
      expect(manifest.notes).toContainEqual(
        expect.stringMatching(`^input video_guide: ${url} sha256 ${sha256}`),
      );
    }
    expect(server.count("/guide.mp4", "GET")).toBe(1);
    const submitted = (await readRecords(tf.recordFile)).filter((record) => record.event === "submit");
    expect(submitted.map((record) => record.params?.video_guide)).toEqual([
      `${path.join(cacheDir, sha256)}|start_frame=2,end_frame=8`,
      `${path.join(cacheDir, sha256)}|start_frame=2,end_frame=8`,
    ]);
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
