import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { request } from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type FarmEventBody, SlotRegistry } from "@wgp-farm/queue";
import { importTestTasks, startTestWorker, waitUntil } from "@wgp-farm/testing";
import type { Job } from "bullmq";
import { execa } from "execa";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logIn, openTestBrowser, type TestBrowser, unexpectedConsoleErrors } from "./support/test-browser.js";
import { OPERATOR, openTestDashboard, type TestDashboard } from "./support/test-dashboard.js";
import { lowContrastText } from "./support/text-contrast.js";

const ARTIFACTS = fileURLToPath(new URL("../../../test-artifacts/dashboard/insights/", import.meta.url));
const SLOT = "gpu0@render-07";
const MIN = 60_000;

let open: TestDashboard;
let outputRoot: string;
let browser: TestBrowser;
let page: Page;

/** The little of the DOM the page-side functions read: the tests are type-checked without the DOM library. */
interface PageElement {
  naturalWidth?: number;
  played?: { length: number };
  currentTime?: number;
  open?: boolean;
}
type PageGlobals = { document: { querySelector(selector: string): PageElement | null } };

const ffmpeg = (...args: string[]) => execa("ffmpeg", ["-nostdin", "-v", "error", "-y", ...args]);

/** A worker double that publishes a real short video (ffmpeg's test source) and its previews. */
async function publishRealVideo(job: Job) {
  const dir = path.join(outputRoot, job.data.task.output_sub_dir);
  await mkdir(path.join(dir, "previews"), { recursive: true });
  const video = path.join(dir, "clip.mp4");
  await ffmpeg(
    ...["-f", "lavfi", "-i", "testsrc2=size=320x192:rate=16:duration=3"],
    ...["-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", video],
  );
  await ffmpeg("-i", video, "-frames:v", "1", path.join(dir, "previews/clip.mp4.poster.jpg"));
  await ffmpeg(
    "-i",
    video,
    "-t",
    "1",
    "-vf",
    "fps=8",
    "-c:v",
    "libwebp_anim",
    "-loop",
    "0",
    path.join(dir, "previews/clip.mp4.preview.webp"),
  );
  const sizeOf = async (name: string) => (await stat(path.join(dir, name))).size;
  return {
    status: "completed",
    output_dir: dir,
    main_file: "clip.mp4",
    media_type: "video",
    files: [{ name: "clip.mp4", size: await sizeOf("clip.mp4"), sha256: "" }],
    previews: [
      {
        kind: "poster",
        name: "previews/clip.mp4.poster.jpg",
        source: "clip.mp4",
        size: await sizeOf("previews/clip.mp4.poster.jpg"),
      },
      {
        kind: "animated",
        name: "previews/clip.mp4.preview.webp",
        source: "clip.mp4",
        size: await sizeOf("previews/clip.mp4.preview.webp"),
      },
    ],
    timings: { generation_s: 42 },
  };
}

/** A maker of `slot`'s events as the slots write them, backdated in `at`. */
function slotEvents(slot: string, now: number) {
  return (minutesAgo: number, type: FarmEventBody["type"], task: string, model: string, data = {}) => ({
    type,
    task_id: task,
    model,
    state: "active",
    at: new Date(now - minutesAgo * MIN).toISOString(),
    slot,
    host: slot.split("@")[1],
    data,
  });
}

async function recordEvents(events: readonly object[]): Promise<void> {
  for (const body of events)
    await open.farm.redis.xadd(open.farm.keys.farmEvents, "*", "event", JSON.stringify(body));
}

/** A known run on one slot. */
async function recordKnownRun(now: number, slot = SLOT): Promise<void> {
  const event = slotEvents(slot, now);
  await recordEvents([
    event(50, "started", "run-a", "t2v"),
    event(50, "phase", "run-a", "t2v", { phase: "loading_model" }),
    event(48, "phase", "run-a", "t2v", { phase: "inference" }),
    event(40, "completed", "run-a", "t2v"),
    event(40, "started", "run-b", "vace_14B"),
    event(40, "phase", "run-b", "vace_14B", { phase: "inference" }),
    event(30, "failed", "run-b", "vace_14B", { error: "engine crashed: exit code -9", retrying: true }),
    event(25, "started", "run-c", "t2v"),
    event(25, "phase", "run-c", "t2v", { phase: "inference" }),
    // run-c never ends: the next start on the slot shows it lost its job.
    event(10, "started", "run-d", "t2v"),
    event(10, "phase", "run-d", "t2v", { phase: "inference" }),
    event(5, "completed", "run-d", "t2v"),
  ]);
}

/** The slot is alive (its status expires in seconds, as a live slot keeps publishing it). */
async function publishLiveSlot(now: number): Promise<void> {
  await new SlotRegistry(open.farm.redis, open.farm.keys).publish({
    slot_id: SLOT,
    host: "render-07",
    gpu_index: 0,
    gpu_name: "NVIDIA L40S",
    worker_name: SLOT,
    pid: 4243,
    state: "idle",
    loaded_model: "t2v",
    current: null,
    jobs_done: 2,
    jobs_failed: 1,
    engine_restarts: 1,
    model_switches: 2,
    busy_ms: 0,
    started_at: new Date(now - 60 * MIN).toISOString(),
    last_error: null,
    updated_at: new Date(now).toISOString(),
  });
}

beforeAll(async () => {
  outputRoot = await mkdtemp(path.join(os.tmpdir(), "dash-outputs-"));
  open = await openTestDashboard({ mainOutputDir: outputRoot });
  await importTestTasks(open.farm, [
    { task_id: "harbour-001", prompt: "A slow pan over a harbour at sunset, gulls" },
    { task_id: "forest-002", prompt: "Morning fog lifting over a pine forest" },
  ]);
  const worker = await startTestWorker(open.farm, "model.t2v", publishRealVideo);
  await waitUntil(async () => (await open.farm.queues.forModel("t2v").getCompletedCount()) === 2, 60_000);
  await worker.close();
  browser = await openTestBrowser(ARTIFACTS, { width: 1400, height: 1000 });
  page = browser.page;
  await page.goto(`${open.base}/login`);
  await logIn(page);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await open?.close();
  if (outputRoot) await rm(outputRoot, { recursive: true, force: true });
});

describe("the farm page's pictures in a browser", () => {
  it("shows results as previews and plays a result, seeking through HTTP Range", async () => {
    await page.goto(`${open.base}/farm`);
    const tile = page.locator('#results button[data-task="harbour-001"]');
    await tile.waitFor();
    await page.waitForFunction(
      () => {
        const { document } = globalThis as unknown as PageGlobals;
        return (
          (document.querySelector('#results button[data-task="harbour-001"] img')?.naturalWidth ?? 0) > 0
        );
      },
      undefined,
      { timeout: 15_000 },
    );
    expect(await page.locator("#results button").count()).toBe(2);
    await browser.screenshot("01-results-grid");
    // Keyboard: focus plays the animated preview, Enter opens the viewer.
    await tile.focus();
    expect(await tile.locator("img").getAttribute("src")).toContain("preview.webp");
    await page.keyboard.press("Enter");
    const video = page.locator("#viewer video");
    await video.waitFor();
    await page.waitForFunction(
      () => {
        const video = (globalThis as unknown as PageGlobals).document.querySelector("#viewer video");
        return (video?.played?.length ?? 0) > 0 && (video?.currentTime ?? 0) > 0.3;
      },
      undefined,
      { timeout: 20_000 },
    );
    await video.evaluate((element) => {
      (element as unknown as PageElement).currentTime = 2.5;
    });
    await page.waitForFunction(
      () =>
        ((globalThis as unknown as PageGlobals).document.querySelector("#viewer video")?.currentTime ?? 0) >=
        2.5,
    );
    await browser.screenshot("02-result-playing");
    await page.keyboard.press("Escape");
    expect(await page.locator("#viewer").evaluate((dialog) => (dialog as unknown as PageElement).open)).toBe(
      false,
    );
  }, 60_000);

  it("filters the grid by state with the model and state fields both filter forms share", async () => {
    const states = (form: string) => page.locator(`${form} select[name="state"] option`).allTextContents();
    expect(await states("#results-filter")).toEqual(["any", "completed", "failed"]);
    expect(await states("#search")).toEqual([
      "any",
      ...["waiting", "delayed", "active", "completed", "failed", "quarantined", "cancelled"],
    ]);
    await page.selectOption('#results-filter select[name="state"]', "failed");
    await expect.poll(() => page.locator("#results button").count()).toBe(0);
    expect(await page.locator("#no-results").isVisible()).toBe(true);
    await page.selectOption('#results-filter select[name="state"]', "completed");
    await expect.poll(() => page.locator("#results button").count()).toBe(2);
  }, 30_000);

  it("opens a task's result from the link on Bull Board's job page", async () => {
    await page.goto(`${open.base}/queues/queue/${encodeURIComponent("models:model.t2v")}/forest-002`);
    const link = page.getByRole("link", { name: "Result in the farm view" });
    await link.waitFor();
    expect(await link.getAttribute("href")).toBe("/farm?task=forest-002");
    // Bull Board opens it in a new tab.
    const [farmTab] = await Promise.all([page.context().waitForEvent("page"), link.click()]);
    await farmTab.locator("#viewer video").waitFor();
    expect(await farmTab.locator("#viewer-title").textContent()).toBe("forest-002");
    await farmTab.close();
  }, 30_000);

  it("draws the GPU timeline of a known run and the split of GPU time", async () => {
    const now = Date.now();
    await recordKnownRun(now);
    await publishLiveSlot(now);
    await page.goto(`${open.base}/farm`);
    const row = page.locator(`#timeline g[data-slot="${SLOT}"]`);
    await row.waitFor();
    // A row draws each kind (and model) as one path, a rectangle per segment: the segments, left to right.
    const segments = await row.locator("path").evaluateAll((paths) =>
      paths.flatMap((path) =>
        [...(path.getAttribute("d") ?? "").matchAll(/M([\d.]+)/g)].map((start) => ({
          x: Number(start[1]),
          kind: path.getAttribute("data-kind"),
          model: path.getAttribute("data-model"),
        })),
      ),
    );
    segments.sort((a, b) => a.x - b.x);
    expect(segments.map((segment) => segment.kind)).toEqual([
      "loading",
      "generating",
      "failed",
      "restart",
      "lost",
      "generating",
      "idle",
    ]);
    const generating = segments.filter((segment) => segment.kind === "generating");
    expect(generating.map((segment) => segment.model)).toEqual(["t2v", "t2v"]);
    // The tip names what is under the pointer.
    const lost = row.locator('path[data-kind="lost"]');
    const box = await lost.boundingBox();
    if (!box) throw new Error("the lost attempt is not drawn");
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    expect(await lost.locator("title").textContent()).toMatch(/^lost attempt/);
    // 50 minutes on the slot: 13 generating, 2 loading, 5 idle, 30 wasted (failed 10, restart 5, lost 15).
    const split = await page.locator("#split-legend li").allTextContents();
    expect(split.map((item) => item.split(" (")[0])).toEqual([
      "generating 26%",
      "loading 4%",
      "idle 10%",
      "wasted 60%",
    ]);
    await browser.screenshot("03-gpu-timeline");
  }, 30_000);

  it("finds tasks by words of their prompt", async () => {
    await page.fill('#search input[name="q"]', "harb sunset");
    await page.press('#search input[name="q"]', "Enter");
    await expect.poll(() => page.locator("#search-results tbody tr").count()).toBe(1);
    const cells = await page.locator("#search-results tbody tr td").allTextContents();
    expect(cells.slice(0, 3)).toEqual(["harbour-001", "completed", "t2v"]);
    await page.locator("#search-title").scrollIntoViewIfNeeded();
    await browser.screenshot("04-search");
    expect(unexpectedConsoleErrors(browser.consoleErrors)).toEqual([]);
  }, 30_000);
});

/** Where the keyboard's focus is, whether it shows, and the page's controls as it reads them now. */
interface FocusStop {
  where: string;
  outline: string;
  /** The page's shown controls in the page's order, named as `where` names them. */
  controls: string[];
}

async function focusStop(): Promise<FocusStop> {
  return page.locator("body").evaluate((body) => {
    const describe = (node: typeof body) => {
      const named = node.closest("[id]");
      const what =
        node.getAttribute("data-slot") ??
        node.getAttribute("data-task") ??
        node.getAttribute("name") ??
        node.textContent.trim().slice(0, 20);
      return `${named ? `#${named.id} ` : ""}${node.tagName.toLowerCase()} ${what}`;
    };
    const focused = body.ownerDocument.activeElement;
    const style = body.ownerDocument.defaultView.getComputedStyle(focused);
    const controls = [...body.querySelectorAll('a[href], button, input, select, [tabindex="0"]')].filter(
      (node) => !node.closest("dialog") && node.checkVisibility() && !node.matches(":disabled"),
    );
    return {
      where: describe(focused),
      outline: `${style.outlineStyle} ${style.outlineWidth}`,
      controls: controls.map(describe),
    };
  });
}

/** Presses Tab until `reached` says so (or `most` times): the stops on the way, the last one included. */
async function tabUntil(reached: (stop: FocusStop) => boolean, most: number): Promise<FocusStop[]> {
  const stops: FocusStop[] = [];
  for (let press = 0; press < most; press += 1) {
    await page.keyboard.press("Tab");
    const stop = await focusStop();
    stops.push(stop);
    if (reached(stop)) return stops;
  }
  throw new Error(`not reached in ${most} presses of Tab: ${stops.map((stop) => stop.where).join(" → ")}`);
}

/** Every text of `on` reads at WCAG AA in both colour schemes, `covering` these among them. */
async function expectReadableText(on: Page, covering: string[]): Promise<void> {
  for (const colorScheme of ["light", "dark"] as const) {
    await on.emulateMedia({ colorScheme });
    const { checked, low } = await lowContrastText(on);
    expect(low, `${on.url()} ${colorScheme}`).toEqual([]);
    expect(checked, `${on.url()} ${colorScheme}`).toEqual(expect.arrayContaining(covering));
  }
  await on.emulateMedia({ colorScheme: "light" });
}

/** The farm page, drawn and with the keyboard's focus at its start. */
async function openFarmPage(): Promise<void> {
  await page.goto(`${open.base}/farm`);
  await page.locator("#timeline g[data-slot]").first().waitFor();
  await page.locator("#results button").first().waitFor();
}

const tip = () => page.locator("#timeline-tip");

describe("the farm page from the keyboard", () => {
  // Slots of their own (after the pictures' SLOT in the timeline when those tests ran first).
  const KEYS_SLOT = "gpu0@render-08";
  const SECOND_SLOT = "gpu1@render-08";

  beforeAll(async () => {
    const now = Date.now();
    await recordKnownRun(now, KEYS_SLOT);
    const event = slotEvents(SECOND_SLOT, now);
    await recordEvents([
      event(20, "started", "run-e", "t2v"),
      event(20, "phase", "run-e", "t2v", { phase: "inference" }),
      event(12, "completed", "run-e", "t2v"),
    ]);
  });

  it("reads the GPU timeline's segments with the arrow keys, each with the pointer's tip", async () => {
    await openFarmPage();
    // One tab stop for the whole chart: its first row; Down to the known run's.
    await tabUntil((stop) => stop.where.includes("#timeline g"), 30);
    for (let row = 0; row < 3 && (await focusStop()).where !== `#timeline g ${KEYS_SLOT}`; row += 1)
      await page.keyboard.press("ArrowDown");
    expect((await focusStop()).where).toBe(`#timeline g ${KEYS_SLOT}`);
    await page.keyboard.press("Home");
    expect(await tip().textContent()).toMatch(/^loading a model · t2v · run-a · /);
    expect(await tip().isVisible()).toBe(true);
    for (let step = 0; step < 4; step += 1) await page.keyboard.press("ArrowRight");
    expect(await tip().textContent()).toMatch(/^lost attempt · t2v · run-c · .* \(15m 00s\)$/);
    // The cursor outlines the lost attempt, and the tip is under it.
    const lost = await page
      .locator(`#timeline g[data-slot="${KEYS_SLOT}"] path[data-kind="lost"]`)
      .boundingBox();
    const cursor = await page.locator("#timeline .timeline-cursor").boundingBox();
    const shown = await tip().boundingBox();
    if (!lost || !cursor || !shown) throw new Error("the lost attempt, its cursor or its tip is not drawn");
    expect(Math.abs(cursor.x - lost.x)).toBeLessThan(3);
    expect(Math.abs(cursor.width - lost.width)).toBeLessThan(4);
    expect(shown.y).toBeGreaterThanOrEqual(cursor.y + cursor.height);
    expect(Math.abs(shown.x - cursor.x)).toBeLessThan(3);
    await browser.screenshot("05-timeline-keyboard");
    await page.keyboard.press("End");
    expect(await tip().textContent()).toMatch(/^generating · t2v · run-d · /);
    await page.keyboard.press("Home");
    expect(await tip().textContent()).toMatch(/^loading a model/);
    // Down: the next slot, on its segment at the same time as the one read (run-c's lost attempt).
    for (let step = 0; step < 4; step += 1) await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowDown");
    expect((await focusStop()).where).toBe(`#timeline g ${SECOND_SLOT}`);
    expect(await tip().textContent()).toMatch(/^generating · t2v · run-e · /);
    await page.keyboard.press("Escape");
    expect(await tip().textContent()).toBe("");
    expect(await page.locator("#timeline .timeline-cursor").count()).toBe(0);
    // Tab leaves the chart; back into it, the row read last is its stop again.
    await page.keyboard.press("Tab");
    expect((await focusStop()).where).not.toContain("#timeline");
    await page.keyboard.press("Shift+Tab");
    expect((await focusStop()).where).toBe(`#timeline g ${SECOND_SLOT}`);
    expect(await tip().textContent()).toMatch(/^generating · t2v · run-e · /);
  }, 30_000);

  it("reaches each control with Tab, in the page's order, each with a visible focus", async () => {
    await openFarmPage();
    const { controls } = await focusStop();
    // Each shown control is a stop (the timeline one, its rows roving); a date field a stop per part.
    const stops = await tabUntil((stop) => stop.where === controls.at(-1), controls.length + 20);
    const reached = stops.map((stop) => stop.where).filter((where, index, all) => where !== all[index - 1]);
    expect(reached).toEqual(stops.at(-1)?.controls);
    for (const stop of stops) expect(stop.outline, stop.where).toMatch(/^solid [2-9]/);
    expect(stops.filter((stop) => stop.where.startsWith("#timeline g"))).toHaveLength(1);
    expect(stops.map((stop) => stop.where)).toEqual(
      expect.arrayContaining([
        "a Queues",
        "#timeline-range button 6 h",
        "#results-filter input model",
        "#search input q",
        "#charts-range button 24 h",
        "#queues a model.t2v",
      ]),
    );
  }, 30_000);

  it("reaches the results grid with Tab and opens a result with Enter", async () => {
    await openFarmPage();
    const stops = await tabUntil((stop) => stop.where.startsWith("#results button"), 30);
    const task = stops.at(-1)?.where.split(" ").at(-1);
    await page.keyboard.press("Enter");
    await page.locator("#viewer video").waitFor();
    expect(await page.locator("#viewer-title").textContent()).toBe(task);
    await tabUntil((stop) => stop.where === "#viewer a Open the file", 10);
    await page.keyboard.press("Escape");
    expect((await focusStop()).where).toBe(`#results button ${task}`);
  }, 30_000);

  it("shows its texts at WCAG AA contrast or better, in the light and the dark scheme", async () => {
    await openFarmPage();
    await page.locator("#charts-title").scrollIntoViewIfNeeded();
    await page.locator("#chart-completed svg").waitFor();
    // The keyboard's tip is on the page too.
    await page.locator("#timeline g[data-slot]").first().focus();
    await expectReadableText(page, [
      "#timeline-legend li.",
      "#split-legend li.",
      "#timeline text.row-label",
      "#timeline-tip",
      "#results span.muted",
      "#charts-range button.",
      "#search input.",
      "#slots th.",
    ]);
    await browser.screenshot("06-dark-scheme");
  }, 30_000);

  it("shows the result viewer, the webhooks page and the login page at WCAG AA contrast", async () => {
    await page.locator("#results button").first().click();
    await page.locator("#viewer video").waitFor();
    await expectReadableText(page, ["#viewer-title", "#viewer dd.", "#viewer a."]);
    await page.keyboard.press("Escape");
    await page.goto(`${open.base}/webhooks`);
    await expectReadableText(page, ["#subscriptions th.", "a.", "p.muted"]);
    const loggedOut = await browser.browser.newPage();
    try {
      await loggedOut.goto(`${open.base}/login`);
      await expectReadableText(loggedOut, ["h1.", "label.", "button."]);
    } finally {
      await loggedOut.close();
    }
  }, 30_000);
});

/** The status of a GET whose path goes to the server exactly as written. */
function rawStatus(pathAsWritten: string): Promise<number> {
  const { promise, resolve, reject } = Promise.withResolvers<number>();
  const asking = request(`${open.base}/`, { path: pathAsWritten, headers: OPERATOR }, (response) => {
    response.resume();
    resolve(response.statusCode ?? 0);
  });
  asking.on("error", reject);
  asking.end();
  return promise;
}

describe("result media", () => {
  const get = (url: string, headers: Record<string, string> = {}) =>
    fetch(`${open.base}${url}`, { headers: { ...OPERATOR, ...headers } });

  it("is served in ranges, only for files a result lists, and only to a logged-in user", async () => {
    const ranged = await get("/farm/media/harbour-001/clip.mp4", { Range: "bytes=0-99" });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("content-range")).toMatch(/^bytes 0-99\/\d+$/);
    expect((await ranged.arrayBuffer()).byteLength).toBe(100);
    expect(
      (await get("/farm/media/harbour-001/previews/clip.mp4.poster.jpg")).headers.get("content-type"),
    ).toBe("image/jpeg");
    for (const url of [
      "/farm/media/harbour-001/task.json",
      "/farm/media/harbour-001/..%2F..%2Fetc%2Fpasswd",
      "/farm/media/nobody/clip.mp4",
    ]) {
      expect((await get(url)).status, url).toBe(404);
    }
    // Sent as written: fetch would resolve the dots before sending.
    expect(await rawStatus("/farm/media/harbour-001/../forest-002/clip.mp4")).toBe(404);
    expect(await rawStatus("/farm/media/harbour-001/%2E%2E/forest-002/clip.mp4")).toBe(404);
    expect((await fetch(`${open.base}/farm/media/harbour-001/clip.mp4`)).status).toBe(401);
  });
});
