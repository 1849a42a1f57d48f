import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { createLogger } from "@wgp-farm/config";
import {
  DEFAULT_RETRY_POLICY,
  FarmConnection,
  type ImportReport,
  RedisTaskSink,
  TaskFileWatcher,
  type TaskFileWatcherOptions,
} from "@wgp-farm/queue";
import { deriveTaskId } from "@wgp-farm/tasks";
import { readJsonLines, temporaryDir, uniquePrefix, waitUntil } from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";

let farm: FarmConnection;
let work: Awaited<ReturnType<typeof temporaryDir>>;
let watcher: TaskFileWatcher | undefined;
let reports: ImportReport[];

beforeEach(async () => {
  farm = await FarmConnection.open(inject("redisUrl"), uniquePrefix("watcher"));
  work = await temporaryDir("watcher");
  reports = [];
});
afterEach(async () => {
  await watcher?.stop();
  watcher = undefined;
  await farm.close();
  await work.remove();
});

async function startWatcher(options: Partial<TaskFileWatcherOptions> = {}): Promise<TaskFileWatcher> {
  watcher = new TaskFileWatcher({
    tasksFile: path.join(work.dir, "tasks.json"),
    sink: new RedisTaskSink(farm, DEFAULT_RETRY_POLICY),
    logger: createLogger({ name: "watcher-test", level: "silent" }),
    pollIntervalMs: 200,
    settleMs: 50,
    onImported: (report) => reports.push(report),
    ...options,
  });
  await watcher.start();
  return watcher;
}

const indexedQueue = (taskId: string) => farm.redis.hget(farm.keys.taskIndex, taskId);

describe("TaskFileWatcher", () => {
  it("imports what is written to the tasks file, once, and removes the file it claimed", async () => {
    await startWatcher();
    const tasksFile = path.join(work.dir, "tasks.json");
    const unnamed = { prompt: "a task without an id" };
    await writeFile(tasksFile, JSON.stringify([{ task_id: "first", prompt: "p" }, unnamed]));
    await waitUntil(() => reports.length === 1);
    expect(reports[0]?.imported.map((entry) => entry.task_id)).toEqual(["first", deriveTaskId(unnamed)]);
    expect(await indexedQueue("first")).toBe("model.t2v");
    expect(await readdir(work.dir)).toEqual([]);

    // A writer that read the file before it was claimed writes it back whole, with a new task.
    await writeFile(
      tasksFile,
      JSON.stringify([
        { task_id: "first", prompt: "p" },
        { task_id: "second", prompt: "q" },
      ]),
    );
    await waitUntil(() => reports.length === 2);
    expect(reports[1]?.imported.map((entry) => entry.task_id)).toEqual(["second"]);
    expect(reports[1]?.skipped.map((entry) => entry.task_id)).toEqual(["first"]);
    expect(await farm.queues.forModel("t2v").getJobCountByTypes("prioritized")).toBe(3);
  });

  it("says what it warned about on its log, and keeps the warning with the task", async () => {
    const lines: { msg: string; field?: string }[] = [];
    const logger = createLogger({ name: "watcher-test", level: "warn" });
    logger.warn = ((fields: { field?: string }, msg: string) => {
      lines.push({ msg, field: fields.field });
    }) as typeof logger.warn;
    await startWatcher({ logger });
    await writeFile(
      path.join(work.dir, "tasks.json"),
      JSON.stringify([{ task_id: "typo", prompt: "p", stpes: 20 }]),
    );
    await waitUntil(() => reports.length === 1);
    expect(reports[0]?.imported.map((entry) => entry.task_id)).toEqual(["typo"]);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.field).toBe("stpes");
    expect(lines[0]?.msg).toMatch(/^task typo: stpes: .*did you mean 'steps'\?/);
    const job = await farm.queues.forModel("t2v").getJob("typo");
    expect(job?.data.import.warnings).toEqual([expect.objectContaining({ path: "stpes" })]);
  });

  it("writes invalid tasks with their reasons next to the tasks file and imports the valid ones", async () => {
    await startWatcher();
    await writeFile(
      path.join(work.dir, "tasks.json"),
      JSON.stringify([
        { task_id: "good", prompt: "p" },
        { task_id: "bad:id", prompt: "p" },
      ]),
    );
    await waitUntil(() => reports.length === 1);
    expect(await indexedQueue("good")).toBe("model.t2v");
    const rejected = await readJsonLines(path.join(work.dir, "tasks.json.rejected.jsonl"));
    expect(rejected).toEqual([
      expect.objectContaining({
        task_id: "bad:id",
        task: { task_id: "bad:id", prompt: "p" },
        errors: [expect.objectContaining({ path: "task_id" })],
      }),
    ]);
  });

  it("imports a copy claimed before a crash, on start", async () => {
    await writeFile(
      path.join(work.dir, ".tasks.json.claimed-1-1-0"),
      JSON.stringify([{ task_id: "left-over", prompt: "p" }]),
    );
    await startWatcher();
    expect(reports).toHaveLength(1);
    expect(await indexedQueue("left-over")).toBe("model.t2v");
    expect(await readdir(work.dir)).toEqual([]);
  });

  it("keeps a file that stays cut short aside, after importing its complete tasks", async () => {
    await startWatcher({ incompleteTimeoutMs: 300 });
    await writeFile(
      path.join(work.dir, "tasks.json"),
      '[{"task_id": "whole", "prompt": "p"}, {"task_id": "ha',
    );
    await waitUntil(() => reports.length === 1);
    expect(await indexedQueue("whole")).toBe("model.t2v");
    const kept = (await readdir(work.dir)).filter((name) => name !== "tasks.json.rejected.jsonl");
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatch(/^tasks\.json\.incomplete-\d+\.json$/);
    expect(await readFile(path.join(work.dir, kept[0] ?? ""), "utf8")).toContain('"ha');
  });
});
