import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type FarmEvent, QueueSamples, searchTasks } from "@wgp-farm/queue";
import { importTestTasks, startTestWorker, waitUntil } from "@wgp-farm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quantile } from "../src/charts/farm-charts.js";
import { sampleQueues } from "../src/charts/queue-sampler.js";
import { buildGpuTimeline } from "../src/timeline/gpu-timeline.js";
import { OPERATOR, openTestDashboard, type TestDashboard } from "./support/test-dashboard.js";

const MIN = 60_000;
const T0 = Date.parse("2026-12-01T10:00:00Z");

function event(
  minute: number,
  type: FarmEvent["type"],
  task: string,
  data: Record<string, unknown> = {},
): FarmEvent {
  return {
    id: `${T0 + minute * MIN}-0`,
    type,
    task_id: task,
    model: "t2v",
    state: "active",
    at: new Date(T0 + minute * MIN).toISOString(),
    slot: "gpu0@a",
    host: "a",
    data,
  };
}

describe("the GPU timeline", () => {
  it("replays a slot's events: cut to the window, a cancel wasted, a gone slot's row ending at its last event", () => {
    const timeline = buildGpuTimeline(
      [
        event(-20, "started", "before-window"),
        event(-20, "phase", "before-window", { phase: "inference" }),
        event(10, "completed", "before-window"),
        event(20, "started", "cancelled-one"),
        event(30, "cancelled", "cancelled-one"),
        event(40, "started", "requeued-one"),
        event(45, "requeued", "requeued-one"),
        event(50, "started", "never-ended"),
      ],
      { from: T0, to: T0 + 60 * MIN, liveSlots: new Map() },
    );
    expect(timeline.rows).toHaveLength(1);
    const segments = timeline.rows[0]?.segments.map((s) => [
      s.kind,
      (s.start - T0) / MIN,
      (s.end - T0) / MIN,
    ]);
    // The window cuts the first attempt; the slot's row ends with its last event (it is not live).
    expect(segments).toEqual([
      ["generating", 0, 10],
      ["idle", 10, 20],
      ["cancelled", 20, 30],
      ["idle", 30, 40],
      ["generating", 40, 45],
      ["idle", 45, 50],
    ]);
    expect(timeline.split).toEqual({ generating: 15 * MIN, loading: 0, idle: 25 * MIN, wasted: 10 * MIN });
  });

  it("shows an engine restart from its recorded events: after the attempt it killed, until ready", () => {
    const restart = (minute: number, step: string, task = "", data = {}) =>
      event(minute, "engine_restart", task, { step, ...data });
    const timeline = buildGpuTimeline(
      [
        event(0, "started", "victim"),
        event(0, "phase", "victim", { phase: "inference" }),
        // The supervisor sees the engine die before the attempt's failure is written.
        restart(10, "restarting", "victim", { attempt: 1, delay_ms: 1000 }),
        event(11, "failed", "victim", { error: "engine crashed: engine exited (code -9)", retrying: true }),
        restart(12, "restarting", "", { attempt: 2, delay_ms: 2000 }),
        restart(15, "ready"),
        event(20, "started", "next"),
        event(30, "completed", "next"),
        restart(30, "recycling", "", { reason: "memory" }),
        restart(32, "ready"),
        // A failure the engine survived starts no restart on a slot that records them.
        event(40, "started", "late"),
        event(41, "failed", "late", { error: "engine hung: no progress", retrying: false }),
        restart(50, "restarting", "", { attempt: 1, delay_ms: 1000 }),
        restart(55, "gave_up", "", { error: "engine never became ready" }),
      ],
      { from: T0, to: T0 + 60 * MIN, liveSlots: new Map() },
    );
    const segments = timeline.rows[0]?.segments.map((s) => [
      s.kind,
      (s.start - T0) / MIN,
      (s.end - T0) / MIN,
      s.detail ?? null,
    ]);
    expect(segments).toEqual([
      ["failed", 0, 11, null],
      ["restart", 11, 15, "engine died, restarted"],
      ["idle", 15, 20, null],
      ["generating", 20, 30, null],
      ["restart", 30, 32, "recycled (memory)"],
      ["idle", 32, 40, null],
      ["failed", 40, 41, null],
      ["idle", 41, 50, null],
      ["restart", 50, 55, "engine died, restarted, then given up"],
    ]);
    expect(timeline.split.wasted).toBe((11 + 4 + 2 + 1 + 5) * MIN);
  });

  it("shows a live slot without events as idle for the whole window", () => {
    const timeline = buildGpuTimeline([], { from: T0, to: T0 + MIN, liveSlots: new Map([["gpu1@b", "b"]]) });
    expect(timeline.rows).toEqual([
      { slot: "gpu1@b", host: "b", segments: [{ kind: "idle", start: T0, end: T0 + MIN }] },
    ]);
  });
});

describe("quantile", () => {
  it("takes the nearest rank", () => {
    const values = Array.from({ length: 20 }, (_, i) => i + 1);
    expect([quantile(values, 0.5), quantile(values, 0.95), quantile([], 0.5)]).toEqual([10, 19, 0]);
  });
});

describe("the charts and search APIs", () => {
  let open: TestDashboard;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked by the assertions
  const get = async (url: string): Promise<any> =>
    (await fetch(`${open.base}${url}`, { headers: OPERATOR })).json();

  beforeAll(async () => {
    open = await openTestDashboard({ queueSampleMs: 3_600_000 });
    await importTestTasks(open.farm, [
      ...Array.from({ length: 5 }, (_, i) => ({ task_id: `quick-${i}`, resolution: "832x480" })),
      { task_id: "waiting-vace", model: "vace_14B", prompt: "A lighthouse in a storm" },
    ]);
    const worker = await startTestWorker(open.farm, "model.t2v", async (job) => ({
      status: "completed",
      main_file: "x.mp4",
      files: [],
      previews: [],
      timings: { generation_s: Number(String(job.id).split("-")[1]) * 10 + 10 },
    }));
    await waitUntil(async () => (await open.farm.queues.forModel("t2v").getCompletedCount()) === 5);
    await worker.close();
  }, 60_000);
  afterAll(async () => {
    await open?.close();
  });

  it("counts completed tasks per hour, generation time per resolution, and samples each minute once", async () => {
    // A minute ahead: the dashboard took its own first sample of this minute when it started.
    const now = Date.now() + 2 * MIN;
    expect(await sampleQueues(open.farm, now)).toBe(true);
    expect(await sampleQueues(open.farm, now)).toBe(false);
    const charts = await get("/farm/api/charts?hours=6");
    const t2v = charts.completed_per_hour.find((series: { model: string }) => series.model === "t2v");
    expect(t2v.counts).toHaveLength(6);
    expect(t2v.counts.reduce((a: number, b: number) => a + b, 0)).toBe(5);
    expect(charts.generation).toEqual([
      { model: "t2v", resolution: "832x480", count: 5, median_s: 30, p95_s: 50 },
    ]);
    const samples = await new QueueSamples(open.farm.redis, open.farm.keys).since(now - MIN);
    expect(samples.length).toBeGreaterThanOrEqual(1);
    expect(samples.at(-1)?.queues).toContainEqual({
      model: "vace_14B",
      queued: 1,
      oldest_wait_s: expect.any(Number),
    });
  });

  it("answers the timeline with an engine restart as its slot recorded it", async () => {
    const now = Date.now();
    const slot = "gpu3@restart-host";
    const body = (minutesAgo: number, type: FarmEvent["type"], task: string, data: Record<string, unknown>) =>
      JSON.stringify({
        type,
        task_id: task,
        model: task ? "t2v" : "",
        state: "active",
        at: new Date(now - minutesAgo * MIN).toISOString(),
        slot,
        host: "restart-host",
        data,
      });
    for (const entry of [
      body(20, "started", "killed-under", { queue: "model.t2v", attempt: 1 }),
      body(20, "phase", "killed-under", { phase: "inference" }),
      body(15, "engine_restart", "killed-under", { step: "restarting", attempt: 1, delay_ms: 1000 }),
      body(15, "failed", "killed-under", { error: "engine crashed: engine exited (signal SIGKILL)" }),
      body(12, "engine_restart", "", { step: "ready" }),
    ])
      await open.farm.redis.xadd(open.farm.keys.farmEvents, "*", "event", entry);
    const timeline = await get("/farm/api/timeline?hours=1");
    const row = timeline.rows.find((candidate: { slot: string }) => candidate.slot === slot);
    expect(row.segments.map((segment: { kind: string }) => segment.kind)).toEqual(["failed", "restart"]);
    const restart = row.segments[1];
    expect([(restart.start - now) / MIN, (restart.end - now) / MIN]).toEqual([-15, -12]);
    expect(restart.detail).toBe("engine died, restarted");
    expect(timeline.split.wasted).toBeGreaterThanOrEqual(8 * MIN);
  });

  it("lists results by model and state, and searches like ls --search", async () => {
    const { results } = await get("/farm/api/results?model=t2v&state=completed&hours=1");
    expect(results.map((card: { task_id: string }) => card.task_id).sort()).toEqual(
      Array.from({ length: 5 }, (_, i) => `quick-${i}`),
    );
    expect((await get("/farm/api/results?model=vace_14B")).results).toEqual([]);
    const { tasks } = await get("/farm/api/search?q=lighthouse&state=waiting");
    expect(tasks.map((task: { task_id: string }) => task.task_id)).toEqual(["waiting-vace"]);
    expect(tasks).toEqual(await searchTasks(open.farm, { text: "lighthouse", state: "waiting" }));
  });
});

describe("the farm page", () => {
  let open: TestDashboard;
  const HOSTILE = "A harbour </script><script>alert(1)</script> at dusk";

  let outputRoot: string;

  beforeAll(async () => {
    outputRoot = await mkdtemp(path.join(tmpdir(), "wgp-farm-page-"));
    open = await openTestDashboard({ queueSampleMs: 3_600_000, mainOutputDir: outputRoot });
    await importTestTasks(open.farm, [{ task_id: "hostile-1", prompt: HOSTILE }]);
    const worker = await startTestWorker(open.farm, "model.t2v", async () => ({
      status: "completed",
      main_file: "x.mp4",
      files: [],
      previews: [{ kind: "poster", name: "previews/x.mp4.poster.jpg", source: "x.mp4", size: 1 }],
    }));
    await waitUntil(async () => (await open.farm.queues.forModel("t2v").getCompletedCount()) === 1);
    await worker.close();
  }, 60_000);
  afterAll(async () => {
    await open?.close();
    await rm(outputRoot, { recursive: true, force: true });
  });

  it("has the browser fetch the posters of its first results before its scripts draw the grid", async () => {
    const html = await (await fetch(`${open.base}/farm`, { headers: OPERATOR })).text();
    const preloads = [...html.matchAll(/<link rel="preload" as="image" href="([^"]*)">/g)].map((m) => m[1]);
    expect(preloads).toEqual(["/farm/media/hostile-1/previews/x.mp4.poster.jpg"]);
    // Before the data's block, so that the browser sees them first.
    expect(html.indexOf('rel="preload" as="image"')).toBeLessThan(html.indexOf('id="first-view"'));
  });

  it("comes with its first view's data, as the APIs answer it, in a block nothing in it can end", async () => {
    const html = await (await fetch(`${open.base}/farm`, { headers: OPERATOR })).text();
    expect(html).not.toContain("<script>alert(1)");
    const block = /<script type="application\/json" id="first-view">(.*?)<\/script>/s.exec(html)?.[1];
    const firstView = JSON.parse(block as string);
    expect(Object.keys(firstView).sort()).toEqual(["results", "status", "timeline"]);
    expect(firstView.results.results.map((card: { prompt: string }) => card.prompt)).toEqual([HOSTILE]);
    const api = await (await fetch(`${open.base}/farm/api/results`, { headers: OPERATOR })).json();
    expect(firstView.results).toEqual(api);
    expect(firstView.status.queues.map((queue: { queue: string }) => queue.queue)).toContain("model.t2v");
    expect(firstView.timeline).toMatchObject({ rows: [], split: { generating: 0 } });
    // The page ends after the block: the shell, then the data, then the closing tags.
    expect(html.trimEnd().endsWith("</html>")).toBe(true);
  });
});
