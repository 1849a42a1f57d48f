/**
 * The farm page (issue 18): with 100 GPU slots and 10,000 tasks of history (completed jobs with
 * previews, 24 h of farm events, the search index), how long the page takes in headless Chromium to
 * show its first view (slots, the results grid with its posters, the GPU timeline), from the
 * navigation's start in a tab already on the dashboard, as an operator's reload or click; and what making
 * the previews of a video adds to a job (ffmpeg on a 832×480, 81-frame clip, as Wan makes by default).
 *
 *   node test/bench/dashboard-bench.ts [--slots 100] [--tasks 10000] [--runs 3] [--job-s 120]
 */
import { link, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { startDashboard } from "@wgp-farm/dashboard";
import {
  FarmConnection,
  modelQueueName,
  RedisServerProcess,
  SlotRegistry,
  type TaskJobData,
  TaskSearchIndex,
} from "@wgp-farm/queue";
import { Worker } from "bullmq";
import { execa } from "execa";
import { chromium } from "playwright-core";
import { makePreviews } from "../../apps/worker/dist/output/preview-maker.js";
import { median, printBenchResult } from "./bench-result.ts";

const { values } = parseArgs({
  options: {
    slots: { type: "string", default: "100" },
    tasks: { type: "string", default: "10000" },
    runs: { type: "string", default: "3" },
    "job-s": { type: "string", default: "120" },
  },
});
const SLOTS = Number(values.slots);
const TASKS = Number(values.tasks);
const RUNS = Number(values.runs);
const REFERENCE_JOB_S = Number(values["job-s"]);
const MODELS = ["t2v", "i2v", "vace_14B"];
const PREFIX = "bench";
const HOUR = 3_600_000;

const ffmpeg = (...args: string[]) => execa("ffmpeg", ["-nostdin", "-v", "error", "-y", ...args]);

/** The farm's i-th GPU slot: eight to a host. Events and published statuses name the same slots. */
function slotOf(i: number): { slot: string; host: string; gpu: number } {
  const n = i % SLOTS;
  const host = `host-${Math.floor(n / 8)}`;
  return { slot: `gpu${n % 8}@${host}`, host, gpu: n % 8 };
}

async function fillHistory(farm: FarmConnection, outputRoot: string, poster: string, animated: string) {
  const now = Date.now();
  const url = new URL(farm.url);
  await farm.queues.registerModels(MODELS);
  for (const model of MODELS) {
    const ids = Array.from({ length: Math.ceil(TASKS / MODELS.length) }, (_, i) => `${model}-${i}`);
    const queue = farm.queues.forModel(model);
    for (let start = 0; start < ids.length; start += 1000) {
      await queue.addBulk(
        ids.slice(start, start + 1000).map((id) => ({
          name: id,
          data: {
            task: {
              task_id: id,
              model,
              prompt: `A test scene ${id}`,
              resolution: "832x480",
              output_sub_dir: id,
            },
          } as unknown as TaskJobData,
          opts: { jobId: id },
        })),
      );
    }
    await TaskSearchIndex.of(farm).add(
      ids.map((id, i) => ({
        task_id: id,
        model,
        prompt: `A test scene ${id}`,
        at: now - ((i * 7_919) % (24 * HOUR)),
      })),
    );
    await farm.redis.hset(farm.keys.taskIndex, ...ids.flatMap((id) => [id, modelQueueName(model)]));
    const worker = new Worker(
      modelQueueName(model),
      async (job) => {
        const dir = path.join(outputRoot, job.id as string, "previews");
        await mkdir(dir, { recursive: true });
        await link(poster, path.join(dir, "clip.mp4.poster.jpg"));
        await link(animated, path.join(dir, "clip.mp4.preview.webp"));
        return {
          status: "completed",
          main_file: "clip.mp4",
          media_type: "video",
          files: [{ name: "clip.mp4", size: 1, sha256: "" }],
          previews: [
            { kind: "poster", name: "previews/clip.mp4.poster.jpg", source: "clip.mp4", size: 1 },
            { kind: "animated", name: "previews/clip.mp4.preview.webp", source: "clip.mp4", size: 1 },
          ],
          timings: { generation_s: 60 + (Number(job.id?.split("-").at(-1)) % 60) },
        };
      },
      { connection: { host: url.hostname, port: Number(url.port) }, prefix: PREFIX, concurrency: 100 },
    );
    while ((await queue.getCompletedCount()) < ids.length) await new Promise((r) => setTimeout(r, 200));
    await worker.close();
  }
  // 24 h of events: each task's attempt on a slot (started, loading, inference, completed), written
  // with stream ids at their times, as slots write them while they work.
  const events: { at: number; body: string }[] = [];
  for (let i = 0; i < TASKS; i += 1) {
    const { slot } = slotOf(i);
    const model = MODELS[i % MODELS.length] as string;
    const start = Math.round(now - 24 * HOUR + (i / TASKS) * 24 * HOUR);
    const event = (type: string, at: number, data = {}) => ({
      at,
      body: JSON.stringify({
        type,
        task_id: `t-${i}`,
        model,
        state: "active",
        at: new Date(at).toISOString(),
        slot,
        host: null,
        data,
      }),
    });
    events.push(
      event("started", start),
      event("phase", start, { phase: "loading_model" }),
      event("phase", start + 20_000, { phase: "inference" }),
      event("completed", Math.min(now - 1_000, start + 600_000)),
    );
  }
  const pipeline = farm.redis.pipeline();
  events.sort((a, b) => a.at - b.at);
  events.forEach(({ at, body }, seq) => {
    pipeline.xadd(farm.keys.farmEvents, `${at}-${seq}`, "event", body);
  });
  await pipeline.exec();
}

async function publishSlots(farm: FarmConnection): Promise<void> {
  const registry = new SlotRegistry(farm.redis, farm.keys, 10 * 60_000);
  const now = new Date().toISOString();
  for (let i = 0; i < SLOTS; i += 1) {
    const { slot, host, gpu } = slotOf(i);
    await registry.publish({
      slot_id: slot,
      host,
      gpu_index: gpu,
      gpu_name: "NVIDIA H100 80GB HBM3",
      worker_name: slot,
      pid: 1000 + i,
      state: "idle",
      loaded_model: MODELS[i % MODELS.length] as string,
      current: null,
      jobs_done: 100,
      jobs_failed: 1,
      engine_restarts: 0,
      model_switches: 3,
      busy_ms: 1000,
      started_at: now,
      last_error: null,
      updated_at: now,
    });
  }
}

async function measurePreviews(work: string): Promise<{ previewS: number; videoS: number }> {
  const dir = path.join(work, "preview-bench");
  await mkdir(dir, { recursive: true });
  await ffmpeg(
    ...["-f", "lavfi", "-i", "testsrc2=size=832x480:rate=16", "-frames:v", "81"],
    ...["-c:v", "libx264", "-pix_fmt", "yuv420p", path.join(dir, "clip.mp4")],
  );
  const times: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const started = performance.now();
    const report = await makePreviews(dir, [{ name: "clip.mp4", size: 0, sha256: "" }]);
    times.push((performance.now() - started) / 1000);
    if (report.warnings.length > 0) throw new Error(report.warnings.join("; "));
  }
  return { previewS: median(times), videoS: 81 / 16 };
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), "wgp-dashboard-bench-"));
  const redis = await RedisServerProcess.start({ dataDir: path.join(work, "redis"), persistence: "none" });
  const farm = await FarmConnection.open(redis.url, PREFIX);
  const outputRoot = path.join(work, "outputs");
  await mkdir(outputRoot);
  const poster = path.join(work, "poster.jpg");
  const animated = path.join(work, "preview.webp");
  await ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x184", "-frames:v", "1", poster);
  await ffmpeg(
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=320x184:rate=8:duration=3",
    "-c:v",
    "libwebp_anim",
    "-loop",
    "0",
    animated,
  );
  const filling = performance.now();
  await fillHistory(farm, outputRoot, poster, animated);
  await publishSlots(farm);
  process.stderr.write(`dashboard bench: history filled in ${Math.round(performance.now() - filling)} ms\n`);
  const dashboard = await startDashboard({
    redisUrl: redis.url,
    prefix: PREFIX,
    port: 0,
    credentials: null,
    mainOutputDir: outputRoot,
  });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run"],
  });
  const firstViews: number[] = [];
  const fromTabOpen: number[] = [];
  try {
    for (let run = 0; run < RUNS; run += 1) {
      // An operator's browser is running and its tab is on the dashboard already (they reload, or come
      // from Bull Board): a fresh context (an empty HTTP cache, as on a first visit) whose tab has
      // shown a page of the dashboard's origin, so that a new tab's start is not counted.
      const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
      const page = await context.newPage();
      await page.goto(`${dashboard.url}healthz`);
      const started = performance.now();
      if (process.env.BENCH_DEBUG) {
        // Each request's start and end, in ms from the navigation's start.
        const at = () => Math.round(performance.now() - started);
        const sent = new Map<unknown, number>();
        page.on("request", (request) => sent.set(request, at()));
        page.on("requestfinished", (request) => {
          process.stderr.write(`${sent.get(request)}–${at()} ms ${request.url()}\n`);
        });
      }
      await page.goto(`${dashboard.url}farm`, { waitUntil: "commit" });
      const shown = await page.waitForFunction(
        (slots) => {
          // The DOM as far as read here: the bench is type-checked without the DOM library.
          const { document, performance } = globalThis as unknown as {
            document: {
              querySelectorAll(selector: string): ArrayLike<{ complete?: boolean; naturalWidth?: number }>;
            };
            performance: { now(): number };
          };
          const posters = Array.from(document.querySelectorAll("#results img"));
          const drawn =
            document.querySelectorAll("#slots tbody tr").length === slots &&
            document.querySelectorAll("#timeline g[data-slot]").length === slots &&
            posters.filter((img) => img.complete && (img.naturalWidth ?? 0) > 0).length >= 12;
          // The page's clock starts at the navigation's start.
          return drawn ? performance.now() : false;
        },
        SLOTS,
        { timeout: 60_000, polling: 20 },
      );
      fromTabOpen.push(performance.now() - started);
      firstViews.push(Number(await shown.jsonValue()));
      if (process.env.BENCH_DEBUG) {
        const marks = await page.evaluate(() => {
          const { performance } = globalThis as unknown as {
            performance: { getEntriesByType(type: string): Record<string, unknown>[] };
          };
          const [nav] = performance.getEntriesByType("navigation");
          const times = (type: string) =>
            performance.getEntriesByType(type).map((e) => `${e.name} ${Math.round(Number(e.startTime))}`);
          const resources = performance
            .getEntriesByType("resource")
            .map(
              (e) =>
                `${String(e.name).split("/").slice(-3).join("/")} ${Math.round(Number(e.startTime))}–${Math.round(Number(e.responseEnd))}`,
            );
          return {
            nav: [
              "responseStart",
              "responseEnd",
              "domInteractive",
              "domContentLoadedEventEnd",
              "loadEventEnd",
            ].map((name) => `${name} ${Math.round(Number(nav?.[name]))}`),
            marks: [...times("paint"), ...times("mark")],
            resources,
          };
        });
        process.stderr.write(`${JSON.stringify(marks, null, 1)}\n`);
      }
      await context.close();
    }
  } finally {
    await browser.close();
    await dashboard.close();
    await farm.close();
    await redis.stop();
  }
  const { previewS, videoS } = await measurePreviews(work);
  await rm(work, { recursive: true, force: true });
  const firstView = median(firstViews);
  printBenchResult({
    title: "Farm page and previews",
    method:
      `${SLOTS} slots, ${TASKS} completed tasks over ${MODELS.length} models (previews on disk), ` +
      `${TASKS * 4} farm events and the search index. First view: in a running headless Chromium, a fresh ` +
      `context (an empty HTTP cache) whose tab already shows a page of the dashboard navigates to /farm; the ` +
      `figure is the page's own clock from the navigation's start until the slot table and the GPU timeline ` +
      `(${SLOTS} rows each) are drawn and 12 posters of the results grid have loaded: the request, the ` +
      `dashboard's reads, the transfer, parsing, scripts, layout and the posters, not the start of the ` +
      `browser or of a tab; median of ${RUNS}. ` +
      `Previews: poster JPEG and animated WebP of an 832×480, 81-frame H.264 clip, median of ${RUNS}.`,
    rows: [
      {
        measure: "farm page first view",
        value: `${Math.round(firstView)} ms`,
        target: "< 1000 ms",
        pass: firstView < 1000,
      },
      { measure: "previews of one 81-frame 832×480 video", value: `${previewS.toFixed(2)} s` },
      {
        measure: `previews' share of a ${REFERENCE_JOB_S} s job`,
        value: `${((100 * previewS) / (REFERENCE_JOB_S + previewS)).toFixed(1)} %`,
        target: "a few %",
        pass: previewS / (REFERENCE_JOB_S + previewS) < 0.05,
      },
    ],
    notes: [
      "Until 2026-12-03 the first view was timed from the bench's call in a new tab, which added the tab's " +
        "first navigation (its renderer's start: 0.1–0.6 s under load) and Playwright's round trips; " +
        "`from_navigation_call_ms` in the raw numbers is the time from the bench's call in the warm tab.",
      `The reference job time (--job-s ${REFERENCE_JOB_S}) is an assumption for a short 480p clip on a fast GPU; ` +
        `a ${videoS.toFixed(1)} s video takes minutes to generate, so the share only shrinks on slower jobs.`,
    ],
    details: { first_view_ms: firstViews, from_navigation_call_ms: fromTabOpen, preview_s: previewS },
  });
}

await main();
