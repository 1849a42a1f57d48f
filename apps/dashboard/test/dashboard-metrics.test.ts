import { FarmStats, SlotRegistry, type SlotStatus } from "@wgp-farm/queue";
import { importTestTasks, startTestWorker, testManifest, waitUntil } from "@wgp-farm/testing";
import type { Worker } from "bullmq";
import { afterEach, describe, expect, it } from "vitest";
import { parsePrometheusText, sampleValue } from "./support/prometheus-text.js";
import { OPERATOR, openTestDashboard, type TestDashboard } from "./support/test-dashboard.js";

let open: TestDashboard | undefined;
let worker: Worker | undefined;
afterEach(async () => {
  await worker?.close();
  worker = undefined;
  await open?.close();
  open = undefined;
});

async function scrape(base: string) {
  const response = await fetch(`${base}/metrics`, { headers: OPERATOR });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("text/plain");
  return parsePrometheusText(await response.text());
}

function slot(overrides: Partial<SlotStatus> = {}): SlotStatus {
  const now = Date.now();
  return {
    slot_id: "gpu0@render-01",
    host: "render-01",
    gpu_index: 0,
    gpu_name: "NVIDIA H100",
    worker_name: "gpu0@render-01",
    pid: 1234,
    state: "busy",
    loaded_model: "t2v",
    current: null,
    jobs_done: 3,
    jobs_failed: 1,
    engine_restarts: 0,
    model_switches: 1,
    busy_ms: 30_000,
    started_at: new Date(now - 60_000).toISOString(),
    last_error: null,
    updated_at: new Date(now).toISOString(),
    ...overrides,
  };
}

describe("/metrics", () => {
  it("is Prometheus text whose depths, totals, histograms and slot gauges move as jobs run", async () => {
    open = await openTestDashboard();
    await importTestTasks(open.farm, [{ task_id: "m-1" }, { task_id: "m-2" }, { task_id: "m-3" }]);
    const before = await scrape(open.base);
    expect(sampleValue(before, "wgp_farm_queue_jobs", { queue: "model.t2v", state: "prioritized" })).toBe(3);
    expect(
      sampleValue(before, "wgp_farm_queue_oldest_wait_seconds", { queue: "model.t2v" }),
    ).toBeGreaterThanOrEqual(0);
    expect(sampleValue(before, "wgp_farm_task_generation_seconds_count", { model: "t2v" }) ?? 0).toBe(0);

    let loads = 0;
    worker = await startTestWorker(open.farm, "model.t2v", async (job) =>
      testManifest(job, { queue_wait_s: 3, model_load_s: loads++ === 0 ? 20 : 0, generation_s: 40 }),
    );
    await waitUntil(async () => (await open?.farm.queues.forModel("t2v").getCompletedCount()) === 3);
    const stats = new FarmStats(open.farm.redis, open.farm.keys);
    await stats.increment("completed", 3);
    await stats.increment("model_switches", 1);
    await stats.increment("lost_attempts", 1);
    await stats.increment("wasted_gpu_ms", 12_500);
    await new SlotRegistry(open.farm.redis, open.farm.keys).publish(slot());

    const after = await scrape(open.base);
    expect(sampleValue(after, "wgp_farm_queue_jobs", { queue: "model.t2v", state: "completed" })).toBe(3);
    expect(sampleValue(after, "wgp_farm_queue_jobs", { queue: "model.t2v", state: "prioritized" })).toBe(0);
    expect(sampleValue(after, "wgp_farm_task_generation_seconds_count", { model: "t2v" })).toBe(3);
    expect(sampleValue(after, "wgp_farm_task_generation_seconds_sum", { model: "t2v" })).toBe(120);
    expect(sampleValue(after, "wgp_farm_task_queue_wait_seconds_bucket", { model: "t2v", le: "5" })).toBe(3);
    // Only jobs that had to load their model count as model loads.
    expect(sampleValue(after, "wgp_farm_task_model_load_seconds_count", { model: "t2v" })).toBe(1);
    expect(sampleValue(after, "wgp_farm_tasks_total", { outcome: "completed" })).toBe(3);
    expect(sampleValue(after, "wgp_farm_tasks_total", { outcome: "failed" })).toBe(0);
    expect(sampleValue(after, "wgp_farm_model_switches_total")).toBe(1);
    expect(sampleValue(after, "wgp_farm_engine_restarts_total")).toBe(0);
    expect(sampleValue(after, "wgp_farm_lost_attempts_total")).toBe(1);
    expect(sampleValue(after, "wgp_farm_wasted_gpu_seconds_total")).toBe(12.5);
    expect(sampleValue(after, "wgp_farm_slot_busy_ratio", { slot: "gpu0@render-01" })).toBeCloseTo(0.5, 1);
    expect(
      sampleValue(after, "wgp_farm_slot_info", { slot: "gpu0@render-01", model: "t2v", state: "busy" }),
    ).toBe(1);

    // Scraping again observes nothing twice.
    const again = await scrape(open.base);
    expect(sampleValue(again, "wgp_farm_task_generation_seconds_count", { model: "t2v" })).toBe(3);
  });

  it("observes the timings a result has, and passes over results written in another shape", async () => {
    open = await openTestDashboard();
    await importTestTasks(open.farm, [{ task_id: "whole" }, { task_id: "bare" }, { task_id: "odd" }]);
    worker = await startTestWorker(open.farm, "model.t2v", async (job) => {
      if (job.id === "bare") return { status: "completed" };
      if (job.id === "odd") return { timings: { queue_wait_s: 2, generation_s: "slow" } };
      return testManifest(job, { queue_wait_s: 1, model_load_s: 0, generation_s: 10 });
    });
    await waitUntil(async () => (await open?.farm.queues.forModel("t2v").getCompletedCount()) === 3);
    const metrics = await scrape(open.base);
    expect(sampleValue(metrics, "wgp_farm_task_generation_seconds_count", { model: "t2v" })).toBe(1);
    expect(sampleValue(metrics, "wgp_farm_task_queue_wait_seconds_count", { model: "t2v" })).toBe(2);
    expect(sampleValue(metrics, "wgp_farm_task_queue_wait_seconds_sum", { model: "t2v" })).toBe(3);
  });

  it("rebuilds the histograms from the completed jobs Redis keeps after a restart", async () => {
    open = await openTestDashboard();
    await importTestTasks(open.farm, [{ task_id: "r-1" }, { task_id: "r-2" }]);
    worker = await startTestWorker(open.farm, "model.t2v", async (job) =>
      testManifest(job, { queue_wait_s: 1, model_load_s: 0, generation_s: 10 }),
    );
    await waitUntil(async () => (await open?.farm.queues.forModel("t2v").getCompletedCount()) === 2);
    const first = await scrape(open.base);
    const prefix = open.farm.keys.prefix;
    await open.dashboard.close();
    const { startDashboard } = await import("../src/index.js");
    const { createLogger } = await import("@wgp-farm/config");
    const restarted = await startDashboard({
      redisUrl: open.farm.url,
      prefix,
      port: 0,
      credentials: { username: "operator", password: "correct horse battery" },
      logger: createLogger({ name: "dashboard", level: "silent" }),
    });
    open.dashboard = restarted;
    open.base = restarted.url.replace(/\/$/, "");
    const second = await scrape(open.base);
    const count = (samples: typeof first) =>
      sampleValue(samples, "wgp_farm_task_generation_seconds_count", { model: "t2v" });
    expect(count(first)).toBe(2);
    expect(count(second)).toBe(2);
  });

  it("/healthz reports the version and Redis's", async () => {
    open = await openTestDashboard();
    const body = (await (await fetch(`${open.base}/healthz`)).json()) as Record<string, unknown>;
    expect(body).toEqual({
      status: "ok",
      version: "0.1.0",
      redis: { reachable: true, version: expect.stringMatching(/^\d+\.\d+/) },
    });
  });
});
