import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { readTaskRecords, TaskValidator } from "@wgp-farm/tasks";
import { temporaryDir, uniquePrefix } from "@wgp-farm/testing";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import {
  cancelTask,
  FarmConnection,
  type FlowTreeNode,
  findTask,
  RedisTaskSink,
  retryTask,
  STITCH_QUEUE,
  TaskImporter,
} from "../src/index.js";

let farm: FarmConnection;
let media: { dir: string; remove: () => Promise<void> };
const workers: Worker[] = [];

beforeEach(async () => {
  farm = await FarmConnection.open(inject("redisUrl"), uniquePrefix());
  media = await temporaryDir("flow-cascade");
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.close()));
  await farm.close();
  await media.remove();
});

const travel = [
  { task_id: "seg_01", prompt: "one" },
  { task_id: "seg_02", prompt: "two", depends_on: ["seg_01"], video_source: { from: "seg_01" } },
  { task_id: "seg_03", prompt: "three", depends_on: ["seg_02"], video_source: { from: "seg_02" } },
  { task_id: "travel", stitch: { from: ["seg_01", "seg_02", "seg_03"] } },
];

async function importTravel(): Promise<void> {
  const text = travel.map((task) => JSON.stringify(task)).join("\n");
  const report = await new TaskImporter(new RedisTaskSink(farm, { attempts: 1, backoffMs: 100 })).import(
    readTaskRecords(Readable.from([Buffer.from(text)])),
    new TaskValidator({ mediaRoot: media.dir }),
    { source: "test" },
  );
  expect(report.imported).toHaveLength(4);
}

/** Real BullMQ workers on the flow's queues; `fail` says which job ids fail (at once, no retry). */
function startWorkers(fail: Set<string>): string[] {
  const runs: string[] = [];
  const process = async (job: Job) => {
    runs.push(job.id as string);
    if (fail.has(job.id as string)) throw new UnrecoverableError("out of memory");
    return { output_dir: `/out/${job.id}` };
  };
  for (const queue of ["model.t2v", STITCH_QUEUE]) {
    workers.push(
      new Worker(queue, process, {
        connection: { url: inject("redisUrl") } as never,
        prefix: farm.keys.prefix,
      }),
    );
  }
  return runs;
}

async function stateOf(id: string): Promise<string | undefined> {
  const task = await findTask(farm, id, { logLines: 0 });
  return task?.state;
}

async function until(id: string, state: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await stateOf(id)) === state) return;
    await sleep(50);
  }
  throw new Error(`${id} did not reach ${state}: it is ${await stateOf(id)}`);
}

/** The tree as `id: state` lines, indented by depth. */
function outline(node: FlowTreeNode, depth = 0): string[] {
  const reason = node.failed_reason ? ` (${node.failed_reason})` : "";
  return [
    `${"  ".repeat(depth)}${node.task_id}: ${node.state}${reason}`,
    ...node.children.flatMap((child) => outline(child, depth + 1)),
  ];
}

describe("failure, retry and cancel cascades in a flow, with real BullMQ workers", () => {
  it("a failed segment fails what depends on it with its reason; retry resumes without redoing done work", async () => {
    await importTravel();
    const failing = new Set(["seg_02"]);
    const runs = startWorkers(failing);
    await until("travel", "failed");
    const details = await findTask(farm, "seg_03", { logLines: 0 });
    expect(outline(details?.flow as FlowTreeNode)).toEqual([
      "travel: failed (seg_02 failed: out of memory)",
      "  seg_03: failed (seg_02 failed: out of memory)",
      "    seg_02: failed (out of memory)",
      "      seg_01: completed",
    ]);

    const dependant = await retryTask(farm, "seg_03");
    expect(dependant.outcome).toBe("not-retriable");
    expect(dependant.message).toContain("seg_02 failed: out of memory");

    failing.clear();
    const retried = await retryTask(farm, "seg_02");
    expect(retried).toMatchObject({ outcome: "retried", resumed: ["seg_03", "travel"] });
    await until("travel", "completed");
    expect(runs.filter((id) => id === "seg_01")).toHaveLength(1);
    expect(runs.filter((id) => id === "seg_02")).toHaveLength(2);
    expect(runs.at(-1)).toBe("travel");
  });

  it("cancel of a waiting segment cancels what depends on it, and retry runs the flow from there", async () => {
    await importTravel();
    const cancelled = await cancelTask(farm, "seg_02", "wrong prompt");
    expect(cancelled).toMatchObject({ outcome: "removed", dependants: ["seg_03", "travel"] });
    const tree = (await findTask(farm, "travel", { logLines: 0 }))?.flow as FlowTreeNode;
    expect(outline(tree)).toEqual([
      "travel: cancelled (cancelled: 'seg_02' was cancelled)",
      "  seg_03: cancelled (cancelled: 'seg_02' was cancelled)",
      "    seg_02: cancelled (cancelled: wrong prompt)",
      "      seg_01: waiting",
    ]);

    const runs = startWorkers(new Set());
    await until("seg_01", "completed");
    await sleep(300);
    expect(runs).toEqual(["seg_01"]);

    const retried = await retryTask(farm, "seg_02");
    expect(retried).toMatchObject({ outcome: "retried", resumed: ["seg_03", "travel"] });
    await until("travel", "completed");
    expect(runs).toEqual(["seg_01", "seg_02", "seg_03", "travel"]);
  });

  it("cancel of a stitch leaves the segments it waits for running", async () => {
    await importTravel();
    const cancelled = await cancelTask(farm, "travel");
    expect(cancelled).toMatchObject({ outcome: "removed", dependants: [] });
    const runs = startWorkers(new Set());
    await until("seg_03", "completed");
    expect(await stateOf("travel")).toBe("failed");
    expect(runs).toEqual(["seg_01", "seg_02", "seg_03"]);
  });
});
