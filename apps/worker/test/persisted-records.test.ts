import { mkdir, readdir, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { AttemptHistory } from "../src/job/attempt-history.js";
import { OutputPublisher } from "../src/output/output-publisher.js";
import { silent, testFarm } from "./support.js";

describe("records read back through their schemas", () => {
  it("attempt history: reads back what it wrote, and skips a record in another shape", async () => {
    const tf = await testFarm("attempt-records");
    const history = new AttemptHistory(tf.farm.redis, tf.farm.keys, silent);
    const begun = await history.begin("task-a", "gpu0@host", []);
    const ended = await history.end("task-a", begun, "crashed", "engine crashed: code 1");
    expect(await history.read("task-a")).toEqual(ended);
    expect(await history.read("no-such-task")).toEqual([]);

    await tf.farm.redis.hset(tf.farm.keys.attemptHistory, "task-b", JSON.stringify([{ slot: 7 }]));
    await tf.farm.redis.hset(tf.farm.keys.attemptHistory, "task-c", "{not json");
    expect(await history.read("task-b")).toEqual([]);
    expect(await history.read("task-c")).toEqual([]);
    // A new attempt starts a fresh list over the unreadable one.
    const next = await history.begin("task-b", "gpu1@host", await history.read("task-b"));
    expect(next.map((record) => record.outcome)).toEqual(["running"]);
  });

  it("staging sweep: a folder whose owner file is in another shape is judged by its age", async () => {
    const tf = await testFarm("staging-records");
    const publisher = await OutputPublisher.open(tf.outputDir, silent);
    const owned = publisher.stage({ task_id: "held", queue: "model.t2v", token: "token-1" });
    const lost = publisher.stage({ task_id: "lost", queue: "model.t2v", token: "token-2" });
    await Promise.all([owned.ready, lost.ready]);
    const folder = async (name: string, ageMs: number) => {
      const dir = path.join(publisher.stagingRoot, name);
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, "owner.json"), JSON.stringify({ task_id: name, pid: "not a number" }));
      const at = new Date(Date.now() - ageMs);
      await utimes(dir, at, at);
      return dir;
    };
    const recent = await folder("old-shape-recent", 0);
    await folder("old-shape-stale", 2 * 60 * 60_000);

    const asked: string[] = [];
    const removed = await publisher.sweep(async (owner) => {
      asked.push(owner.task_id);
      return owner.token === "token-1";
    });

    expect(asked.sort()).toEqual(["held", "lost"]);
    expect(removed).toBe(2);
    const left = (await readdir(publisher.stagingRoot)).sort();
    expect(left).toEqual([path.basename(owned.dir), path.basename(recent)].sort());
  });
});
