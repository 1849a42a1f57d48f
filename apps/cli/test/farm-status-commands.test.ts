import { FarmConnection, type JobProgress, LostAttempts, SlotRegistry } from "@wgp-farm/queue";
import {
  importTestTasks,
  quarantineTestTask,
  startTestWorker,
  testManifest,
  uniquePrefix,
  waitUntil,
} from "@wgp-farm/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { exitOf, runCli, startCli } from "./run-cli.js";

const PROGRESS: JobProgress = {
  phase: "inference",
  step: 5,
  total: 20,
  percent: 35,
  eta_s: 130,
  slot: "gpu1@render-02",
};

let prefix: string;
let farm: FarmConnection;
const farmArgs = () => ["--redis-url", inject("redisUrl"), "--prefix", prefix];

beforeAll(async () => {
  prefix = uniquePrefix("cli-status");
  farm = await FarmConnection.open(inject("redisUrl"), prefix);
  await importTestTasks(
    farm,
    [
      { task_id: "done-1" },
      { task_id: "oom-1", prompt: "a very long battle scene" },
      { task_id: "crash-1" },
      { task_id: "wait-1" },
      { task_id: "vace-1", model: "vace_14B" },
    ],
    { attempts: 1, backoffMs: 0 },
  );
  const worker = await startTestWorker(farm, "model.t2v", async (job) => {
    if (job.id === "done-1")
      return testManifest(job, { queue_wait_s: 2, model_load_s: 30, generation_s: 90 });
    await job.log("engine: allocating 70 GB");
    if (job.id === "oom-1") throw new Error("engine ran out of memory (CUDA OOM)");
    if (job.id === "crash-1") throw new Error("quarantined: killed 3 workers");
    return new Promise(() => undefined); // wait-1 stays active until the worker closes
  });
  await waitUntil(async () => (await farm.queues.forModel("t2v").getJobState("wait-1")) === "active");
  await worker.close(true);
  await farm.queues
    .forModel("t2v")
    .getJob("wait-1")
    .then((job) => job?.moveToDelayed(Date.now() + 3_600_000));
  await quarantineTestTask(farm, "model.t2v", "crash-1");
  await new SlotRegistry(farm.redis, farm.keys).publish({
    slot_id: "gpu1@render-02",
    host: "render-02",
    gpu_index: 1,
    gpu_name: "NVIDIA L40S",
    worker_name: "gpu1@render-02",
    pid: 77,
    state: "busy",
    loaded_model: "vace_14B",
    current: {
      task_id: "vace-1",
      queue: "model.vace_14B",
      started_at: new Date().toISOString(),
      progress: PROGRESS,
    },
    jobs_done: 12,
    jobs_failed: 2,
    engine_restarts: 1,
    model_switches: 3,
    busy_ms: 1000,
    started_at: new Date(Date.now() - 2000).toISOString(),
    last_error: null,
    updated_at: new Date().toISOString(),
  });
}, 60_000);

afterAll(async () => {
  await farm.close();
});

describe("wgp-farm status", () => {
  it("shows the farm: slots with their task and progress, queue depths, totals (table and --json)", async () => {
    const table = await runCli(["status", ...farmArgs()]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain("Slots (1)");
    expect(table.stdout).toMatch(
      /gpu1@render-02\s+NVIDIA L40S\s+busy\s+vace_14B\s+vace-1\s+inference 5\/20 35%\s+2m 10s/,
    );
    expect(table.stdout).toMatch(/model\.vace_14B\s+1\s+0/);
    expect(table.stdout).toContain("Totals:");

    const json = await runCli(["status", "--json", ...farmArgs()]);
    expect(json.code).toBe(0);
    const status = JSON.parse(json.stdout);
    expect(status.slots).toHaveLength(1);
    expect(status.slots[0]).toMatchObject({
      slot_id: "gpu1@render-02",
      loaded_model: "vace_14B",
      current: { task_id: "vace-1" },
    });
    expect(status.slots[0].busy_ratio).toBeGreaterThan(0);
    const t2v = status.queues.find((queue: { queue: string }) => queue.queue === "model.t2v");
    expect(t2v.counts).toMatchObject({ completed: 1, failed: 2, delayed: 1 });
    expect(status.queues.map((queue: { queue: string }) => queue.queue)).toEqual([
      "model.t2v",
      "model.vace_14B",
      "quarantine",
    ]);
    expect(Object.keys(status.counters)).toContain("engine_restarts");
  });

  it("shows one task: state, attempts, output folder, the error of each attempt and the log", async () => {
    const failed = await runCli(["status", "oom-1", "--json", ...farmArgs()]);
    expect(failed.code).toBe(0);
    const task = JSON.parse(failed.stdout);
    expect(task).toMatchObject({
      task_id: "oom-1",
      state: "failed",
      queue: "model.t2v",
      attempts: { made: 1, max: 1 },
      output_sub_dir: "oom-1",
      errors: [{ attempt: 1, message: "engine ran out of memory (CUDA OOM)" }],
      log_tail: ["engine: allocating 70 GB"],
    });
    const done = await runCli(["status", "done-1", ...farmArgs()]);
    expect(done.stdout).toMatch(/State:\s+completed/);
    expect(done.stdout).toMatch(/Output:\s+\/outputs\/done-1/);

    const quarantined = JSON.parse((await runCli(["status", "crash-1", "--json", ...farmArgs()])).stdout);
    expect(quarantined).toMatchObject({
      state: "quarantined",
      queue: "quarantine",
      quarantine: { stalls: 3 },
      errors: [{ attempt: 1, message: "job stalled more than allowable limit" }],
    });
  });

  it("--watch shows the farm again and again (a snapshot at a time when not a terminal) until Ctrl+C", async () => {
    const child = startCli(["status", "--watch", "--every", "0.2", ...farmArgs()]);
    let stdout = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const exited = exitOf(child);
    await waitUntil(() => (stdout.match(/^--- /gm) ?? []).length >= 3);
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    const snapshots = stdout.split(/^--- .*$/m).filter((part) => part.trim() !== "");
    expect(snapshots.length).toBeGreaterThanOrEqual(3);
    for (const view of snapshots) expect(view).toMatch(/model\.vace_14B[\s\S]*Totals:/);
  });

  it("shows the attempts that lost the task to another attempt, and the GPU time they wasted", async () => {
    const at = new Date().toISOString();
    await new LostAttempts(farm.redis, farm.keys).record("done-1", {
      attempt: 1,
      slot: "gpu0@frozen-host",
      started_at: at,
      lost_at: at,
      gpu_ms: 12_400,
      why: "the lock was not renewed for a lock duration (a freeze or a partition)",
    });
    const done = await runCli(["status", "done-1", ...farmArgs()]);
    expect(done.stdout).toMatch(
      /Lost:\s+1 lost to another attempt \(attempt 1 on gpu0@frozen-host\), 12s of GPU time wasted/,
    );
    const json = JSON.parse((await runCli(["status", "done-1", "--json", ...farmArgs()])).stdout);
    expect(json.lost_attempts).toMatchObject([{ attempt: 1, slot: "gpu0@frozen-host", gpu_ms: 12_400 }]);
    expect((await runCli(["status", "oom-1", ...farmArgs()])).stdout).not.toMatch(/Lost:/);
  });

  it("says so, with exit 1, for a task id the farm never saw", async () => {
    const unknown = await runCli(["status", "no-such-task", ...farmArgs()]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown task 'no-such-task'");
    expect(unknown.stdout).toBe("");
  });
});

describe("wgp-farm ls", () => {
  it("lists tasks by state and model; quarantined tasks once, under quarantined", async () => {
    const all = JSON.parse((await runCli(["ls", "--json", ...farmArgs()])).stdout) as {
      task_id: string;
      state: string;
    }[];
    expect(Object.fromEntries(all.map((task) => [task.task_id, task.state]))).toEqual({
      "done-1": "completed",
      "oom-1": "failed",
      "crash-1": "quarantined",
      "wait-1": "delayed",
      "vace-1": "prioritized",
    });
    const failed = JSON.parse((await runCli(["ls", "--state", "failed", "--json", ...farmArgs()])).stdout);
    expect(failed.map((task: { task_id: string }) => task.task_id)).toEqual(["oom-1"]);
    expect(failed[0].failed_reason).toBe("engine ran out of memory (CUDA OOM)");
    const waiting = await runCli(["ls", "--state", "waiting", "--model", "vace_14B", ...farmArgs()]);
    expect(waiting.code).toBe(0);
    expect(waiting.stdout).toMatch(/^TASK\s+STATE/);
    expect(waiting.stdout).toMatch(/vace-1\s+prioritized\s+vace_14B/);
    const limited = JSON.parse((await runCli(["ls", "--limit", "2", "--json", ...farmArgs()])).stdout);
    expect(limited).toHaveLength(2);
    const quarantined = JSON.parse(
      (await runCli(["ls", "--state", "quarantined", "--json", ...farmArgs()])).stdout,
    );
    expect(quarantined.map((task: { task_id: string }) => task.task_id)).toEqual(["crash-1"]);
  });

  it("refuses an unknown model (exit 1) and an unknown state (exit 2)", async () => {
    const model = await runCli(["ls", "--model", "t3v", ...farmArgs()]);
    expect(model.code).toBe(1);
    expect(model.stderr).toContain("no queue for model 't3v'");
    const state = await runCli(["ls", "--state", "sleeping", ...farmArgs()]);
    expect(state.code).toBe(2);
  });
});
