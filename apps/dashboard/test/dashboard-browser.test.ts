import { fileURLToPath } from "node:url";
import { type JobProgress, SlotRegistry } from "@wgp-farm/queue";
import { importTestTasks, startTestWorker, waitUntil } from "@wgp-farm/testing";
import type { Worker } from "bullmq";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logIn, openTestBrowser, type TestBrowser, unexpectedConsoleErrors } from "./support/test-browser.js";
import { openTestDashboard, type TestDashboard } from "./support/test-dashboard.js";

const ARTIFACTS = fileURLToPath(new URL("../../../test-artifacts/dashboard/", import.meta.url));
const RUNNING_TASK = "sunset-001";
const PROGRESS: JobProgress = {
  phase: "inference",
  step: 12,
  total: 30,
  percent: 46,
  eta_s: 95,
  slot: "gpu0@render-01",
};

let open: TestDashboard;
let worker: Worker;
let browser: TestBrowser;
let page: Page;
let release: () => void;

/** The slot's status, as its worker publishes it (it expires within seconds unless published again). */
async function publishSlot(): Promise<void> {
  const now = Date.now();
  await new SlotRegistry(open.farm.redis, open.farm.keys).publish({
    slot_id: "gpu0@render-01",
    host: "render-01",
    gpu_index: 0,
    gpu_name: "NVIDIA H100 80GB HBM3",
    worker_name: "gpu0@render-01",
    pid: 4242,
    state: "busy",
    loaded_model: "t2v",
    current: {
      task_id: RUNNING_TASK,
      queue: "model.t2v",
      started_at: new Date(now - 40_000).toISOString(),
      progress: PROGRESS,
    },
    jobs_done: 7,
    jobs_failed: 1,
    engine_restarts: 0,
    model_switches: 2,
    busy_ms: 50_000_000,
    started_at: new Date(now - 100_000_000).toISOString(),
    last_error: null,
    updated_at: new Date(now).toISOString(),
  });
}

beforeAll(async () => {
  open = await openTestDashboard();
  await importTestTasks(open.farm, [
    { task_id: RUNNING_TASK, prompt: "A slow pan over a harbour at sunset, gulls, warm light", priority: 1 },
    { task_id: "forest-002", prompt: "Morning fog lifting over a pine forest" },
    { task_id: "city-003", prompt: "Night traffic in the rain, neon reflections", model: "vace_14B" },
  ]);
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  worker = await startTestWorker(
    open.farm,
    "model.t2v",
    async (job) => {
      await job.log("engine: loading model t2v (Wan2.1 14B)");
      await job.log("engine: denoising step 12/30");
      await job.updateProgress(PROGRESS);
      await held;
      return { status: "completed" };
    },
    { name: "gpu0@render-01" },
  );
  await waitUntil(
    async () => (await open.farm.queues.forModel("t2v").getJobState(RUNNING_TASK)) === "active",
  );
  await publishSlot();
  browser = await openTestBrowser(ARTIFACTS, { width: 1400, height: 900 });
  page = browser.page;
}, 60_000);

afterAll(async () => {
  release?.();
  await browser?.close();
  await worker?.close();
  await open?.close();
});

describe("the dashboard in a browser", () => {
  it("logs in, opens a model queue, a running job's progress and logs, and the farm view", async () => {
    await page.goto(`${open.base}/queues/`);
    expect(new URL(page.url()).pathname).toBe("/login");
    await browser.screenshot("01-login");
    await logIn(page);
    expect(page.url()).toBe(`${open.base}/queues/`);
    // The overview has loaded once the queues show as cards, not only in the menu.
    await expect.poll(() => page.getByText("model.vace_14B").count(), { timeout: 10_000 }).toBeGreaterThan(1);
    await browser.screenshot("02-queues-overview");

    await page.goto(`${open.base}/queues/queue/${encodeURIComponent("models:model.t2v")}?status=active`);
    await page.getByText(RUNNING_TASK).first().waitFor();
    await browser.screenshot("03-model-queue-active");

    await page.goto(`${open.base}/queues/queue/${encodeURIComponent("models:model.t2v")}/${RUNNING_TASK}`);
    await page.getByText("inference").first().waitFor();
    await expect(page.getByText("1m 35s").first().isVisible()).resolves.toBe(true);
    await browser.screenshot("04-job-progress");
    await page.getByRole("tab", { name: /logs/i }).first().click();
    await page.getByText("engine: denoising step 12/30").first().waitFor();
    await browser.screenshot("05-job-logs");

    // The slot's status expires 15 s after it was published: a loaded machine takes longer to get here.
    await publishSlot();
    await page.goto(`${open.base}/farm`);
    const slotRow = page.locator('tr[data-slot="gpu0@render-01"]');
    await slotRow.waitFor();
    const slotCells = await slotRow.locator("td").allTextContents();
    expect(slotCells.slice(0, 5)).toEqual([
      "render-01",
      "0: NVIDIA H100 80GB HBM3",
      "busy",
      "t2v",
      RUNNING_TASK,
    ]);
    expect(slotCells[5]).toContain("inference 12/30 · 46%");
    expect(slotCells[6]).toBe("1m 35s");
    expect(slotCells[10]).toBe("50%"); // busy half its life
    const queueCells = await page.locator('tr[data-queue="model.vace_14B"] td').allTextContents();
    expect(queueCells.slice(0, 2)).toEqual(["model.vace_14B", "1"]);
    await browser.screenshot("06-farm-view");

    // Nothing may fail to load, and the console shows no error but the fonts the CSP blocks.
    expect(browser.failedLoads).toEqual([]);
    expect(unexpectedConsoleErrors(browser.consoleErrors)).toEqual([]);
  }, 90_000);
});
