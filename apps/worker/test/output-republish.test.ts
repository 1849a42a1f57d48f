import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { temporaryDir } from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { OutputPublisher, type PublishGate } from "../src/output/output-publisher.js";

/** A re-run of a task whose folder holds its post-steps' folders (issue 17). */
const OPEN_GATE: PublishGate = { claim: async () => {}, check: () => {} };
let temp: { dir: string; remove: () => Promise<void> };
let publisher: OutputPublisher;

beforeEach(async () => {
  temp = await temporaryDir("republish");
  publisher = await OutputPublisher.open(temp.dir);
});
afterEach(() => temp.remove());

/** One attempt of the task: its engine writes `file`, and the attempt publishes. */
async function publishAttempt(token: string, file: string): Promise<string> {
  const staged = publisher.stage({ task_id: "take", queue: "model.t2v", token });
  await staged.ready;
  await mkdir(staged.filesDir, { recursive: true });
  await writeFile(path.join(staged.filesDir, file), `video of ${token}`);
  return publisher.publish(staged, "take", { "result.json": { attempt: token } }, OPEN_GATE);
}

describe("re-publishing a task's folder", () => {
  it("replaces the task's own files and keeps its steps' folders as their jobs published them", async () => {
    const folder = await publishAttempt("first", "take-1.mp4");
    const stepDir = path.join(folder, "then-1-upscale");
    await mkdir(stepDir);
    await writeFile(path.join(stepDir, "result.json"), '{"step": 1}\n');
    await mkdir(path.join(folder, "not-a-step"));

    expect(await publishAttempt("second", "take-2.mp4")).toBe(folder);
    expect((await readdir(folder)).sort()).toEqual(["result.json", "take-2.mp4", "then-1-upscale"]);
    expect(await readFile(path.join(stepDir, "result.json"), "utf8")).toBe('{"step": 1}\n');
    expect(JSON.parse(await readFile(path.join(folder, "result.json"), "utf8"))).toEqual({
      attempt: "second",
    });
    // Nothing of the previous result is left in staging.
    expect(await readdir(publisher.stagingRoot)).toEqual([]);
  });
});
