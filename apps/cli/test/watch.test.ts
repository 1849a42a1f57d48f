import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { FarmConnection } from "@wgp-farm/queue";
import { deriveTaskId } from "@wgp-farm/tasks";
import { readJsonLines, temporaryDir, uniquePrefix } from "@wgp-farm/testing";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { type CliProcess, exitOf, startCollecting } from "./run-cli.js";

const WRITER = fileURLToPath(new URL("./fixtures/appending-writer.ts", import.meta.url));

let prefix: string;
let farm: FarmConnection;
let work: { dir: string; remove: () => Promise<void> };

beforeEach(async () => {
  prefix = uniquePrefix("watch");
  farm = await FarmConnection.open(inject("redisUrl"), prefix);
  work = await temporaryDir("watch");
});
afterEach(async () => {
  await farm.close();
  await work.remove();
});

function startWatcher(tasksFile: string) {
  const { child, stderr } = startCollecting([
    "watch",
    "--tasks-file",
    tasksFile,
    "--poll-interval",
    "1",
    "--redis-url",
    inject("redisUrl"),
    "--prefix",
    prefix,
  ]);
  return { child, logs: stderr };
}

async function stop(child: CliProcess): Promise<number | null> {
  child.kill("SIGTERM");
  return exitOf(child);
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function importedCounts(logs: string): number {
  return logs
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { imported?: number })
    .reduce((sum, entry) => sum + (entry.imported ?? 0), 0);
}

describe("wgp-farm watch", () => {
  it("imports every task a concurrent writer appends for 90 s exactly once, losing none", {
    timeout: 180_000,
  }, async () => {
    const tasksFile = path.join(work.dir, "tasks.json");
    const log = path.join(work.dir, "written.jsonl");
    const watcher = startWatcher(tasksFile);
    const writer = await execa(process.execPath, [WRITER, tasksFile, "90000", log], { stdio: "inherit" });
    expect(writer.exitCode).toBe(0);

    const written = await readJsonLines(log);
    const expectedIds = written.map((task) =>
      typeof task.task_id === "string" ? task.task_id : deriveTaskId(task),
    );
    expect(new Set(expectedIds).size).toBe(written.length);
    await waitFor(async () => (await farm.redis.hlen(farm.keys.taskIndex)) >= written.length, 30_000);
    await waitFor(async () => !(await readdir(work.dir)).some((name) => name.includes(".claimed-")), 30_000);
    expect(await stop(watcher.child)).toBe(0);

    const indexed = await farm.redis.hkeys(farm.keys.taskIndex);
    expect(indexed.sort()).toEqual([...expectedIds].sort());
    expect(await farm.queues.forModel("t2v").count()).toBe(written.length);
    expect(importedCounts(watcher.logs())).toBe(written.length);
    expect(
      (await readdir(work.dir)).filter((name) => name.includes("rejected") || name.includes("incomplete")),
    ).toEqual([]);
  });

  it("writes invalid tasks with their reasons to tasks.json.rejected.jsonl and imports the valid ones", async () => {
    const tasksFile = path.join(work.dir, "tasks.json");
    const watcher = startWatcher(tasksFile);
    await writeFile(
      tasksFile,
      JSON.stringify([
        { task_id: "ok-1", prompt: "fine" },
        { task_id: "bad:id", prompt: "x" },
        { task_id: "no-prompt" },
        { task_id: "ok-2", prompt: "fine too", model: "i2v" },
      ]),
    );
    await waitFor(async () => (await farm.redis.hlen(farm.keys.taskIndex)) === 2, 15_000);
    const rejectedFile = `${tasksFile}.rejected.jsonl`;
    await waitFor(async () => (await readdir(work.dir)).includes(path.basename(rejectedFile)), 5_000);
    expect(await stop(watcher.child)).toBe(0);
    const rejected = await readJsonLines(rejectedFile);
    expect(rejected).toEqual([
      expect.objectContaining({
        task_id: "bad:id",
        index: 1,
        task: { task_id: "bad:id", prompt: "x" },
        errors: [expect.objectContaining({ path: "task_id" })],
      }),
      expect.objectContaining({
        task_id: "no-prompt",
        index: 2,
        errors: [expect.objectContaining({ path: "prompt" })],
      }),
    ]);
    expect(watcher.logs()).toContain("rejected task bad:id");
    expect((await readdir(work.dir)).sort()).toEqual(["tasks.json.rejected.jsonl"]);
  });

  it("picks up a copy claimed by a watcher that died before importing it", async () => {
    const tasksFile = path.join(work.dir, "tasks.json");
    await writeFile(
      path.join(work.dir, ".tasks.json.claimed-1-1-0"),
      JSON.stringify([{ task_id: "left-over", prompt: "p" }]),
    );
    const watcher = startWatcher(tasksFile);
    await waitFor(async () => (await farm.redis.hexists(farm.keys.taskIndex, "left-over")) === 1, 15_000);
    expect(await stop(watcher.child)).toBe(0);
  });
});
