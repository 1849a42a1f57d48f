import { readFile } from "node:fs/promises";
import path from "node:path";
import { modelQueueName } from "@wgp-farm/queue";
import { describe, expect, it } from "vitest";
import type { ResultManifest, ResultSummary } from "../src/index.js";
import { mainOutputOf, mediaTypeOf } from "../src/output/media-type.js";
import { importTasks, startWorker, testFarm, waitForJob } from "./support.js";

describe("results of image and audio models", () => {
  it("carry the media type in result.json and the job's summary, with main_file of that kind", async () => {
    const tf = await testFarm("media-results");
    await importTasks(tf, [
      { task_id: "picture", prompt: "a lighthouse at dawn", model: "z_image" },
      { task_id: "song", prompt: "a sea shanty", model: "ace_step_v1" },
      { task_id: "clip", prompt: "a lighthouse in a storm", model: "t2v", steps: 2 },
    ]);
    await startWorker(tf);
    const expected = {
      picture: ["z_image", "image"],
      song: ["ace_step_v1", "audio"],
      clip: ["t2v", "video"],
    };
    for (const [taskId, [model, kind]] of Object.entries(expected)) {
      const job = await waitForJob(tf, taskId, modelQueueName(model as string));
      expect(job.failedReason ?? "ok").toBe("ok");
      const summary = job.returnvalue as ResultSummary;
      expect(summary.media_type).toBe(kind);
      expect(mediaTypeOf(summary.main_file)).toBe(kind);
      const manifest = JSON.parse(
        await readFile(path.join(summary.output_dir, "result.json"), "utf8"),
      ) as ResultManifest;
      expect(manifest).toMatchObject({ media_type: kind, main_file: summary.main_file });
    }
  });

  it("take the kind of the named main file from an engine that reports none", () => {
    const files = [
      { name: "a.mp4", size: 1, sha256: "x" },
      { name: "a.png", size: 1, sha256: "y" },
    ];
    expect(mainOutputOf({ main_file: "/staging/a.png" }, files)).toMatchObject({
      mainName: "a.png",
      mediaType: "image",
      main: files[1],
    });
    // A name the published files lack (renamed on a clash): the last file of the reported kind.
    expect(mainOutputOf({ main_file: "/staging/b.mp4", media_type: "video" }, files).main).toBe(files[0]);
  });
});
