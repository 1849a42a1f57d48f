import { Readable } from "node:stream";
import { DEFAULT_RETRY_POLICY, RedisTaskSink, TaskImporter } from "@wgp-farm/queue";
import { readTaskRecords, TaskValidator } from "@wgp-farm/tasks";
import { waitUntil } from "@wgp-farm/testing";
import { afterEach, describe, expect, it } from "vitest";
import { parsePrometheusText, sampleValue } from "./support/prometheus-text.js";
import { OPERATOR, openTestDashboard, type TestDashboard } from "./support/test-dashboard.js";

/** Bull Board lists the queues of pipelines (issue 17): post-steps and stitches, beside the model queues. */
let open: TestDashboard | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

async function importFlow(dashboard: TestDashboard, tasks: unknown[]): Promise<void> {
  const sink = new RedisTaskSink(dashboard.farm, DEFAULT_RETRY_POLICY);
  try {
    const report = await new TaskImporter(sink).import(
      readTaskRecords(Readable.from([Buffer.from(tasks.map((task) => JSON.stringify(task)).join("\n"))])),
      new TaskValidator({ mediaRoot: process.cwd() }),
      { source: "test" },
    );
    expect(report.invalid).toEqual([]);
  } finally {
    await sink.flows.close();
  }
}

describe("the board's queue list", () => {
  it("shows the stitch queue and the post-step queues once a flow uses them, with the jobs in them", async () => {
    open = await openTestDashboard();
    const base = open.base;
    const boardQueues = async () =>
      (
        (await (await fetch(`${base}/queues/api/queues`, { headers: OPERATOR })).json()) as {
          queues: { name: string; displayName?: string; counts: Record<string, number> }[];
        }
      ).queues;
    expect((await boardQueues()).map((queue) => queue.name)).toEqual(["farm:quarantine"]);
    await importFlow(open, [
      // biome-ignore lint/suspicious/noThenProperty: the task file's post-step field
      { task_id: "take", prompt: "a take", model: "t2v", then: [{ upscale: "lanczos2" }] },
      { task_id: "other", prompt: "another take", model: "t2v" },
      { task_id: "joined", stitch: { from: ["take", "other"] } },
    ]);
    await waitUntil(async () => (await boardQueues()).length === 4);
    const queues = await boardQueues();
    expect(queues.map((queue) => queue.name).sort()).toEqual([
      "farm:quarantine",
      "models:model.t2v",
      "pipelines:model.post.upscale",
      "pipelines:stitch",
    ]);
    const stitch = queues.find((queue) => queue.name === "pipelines:stitch");
    expect(stitch?.counts["waiting-children"]).toBe(1);
    const page = await fetch(`${base}/queues/api/queues/${encodeURIComponent("pipelines:stitch")}/joined`, {
      headers: OPERATOR,
    });
    expect(page.status).toBe(200);
  });
});

describe("/metrics", () => {
  it("has the stitch queue's depths and pause flag, the stitch waiting for its sources included", async () => {
    open = await openTestDashboard();
    await importFlow(open, [
      { task_id: "seg-a", prompt: "a take", model: "t2v" },
      { task_id: "seg-b", prompt: "another take", model: "t2v" },
      { task_id: "joined", stitch: { from: ["seg-a", "seg-b"] } },
    ]);
    const response = await fetch(`${open.base}/metrics`, { headers: OPERATOR });
    const samples = parsePrometheusText(await response.text());
    const stitch = { queue: "stitch", model: "" };
    expect(sampleValue(samples, "wgp_farm_queue_jobs", { ...stitch, state: "waiting_children" })).toBe(1);
    expect(sampleValue(samples, "wgp_farm_queue_jobs", { ...stitch, state: "waiting" })).toBe(0);
    expect(sampleValue(samples, "wgp_farm_queue_paused", stitch)).toBe(0);
  });
});
