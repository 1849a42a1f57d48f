import { Readable } from "node:stream";
import { readTaskRecords, TaskValidator } from "@wgp-farm/tasks";
import { temporaryDir, uniquePrefix, waitUntil } from "@wgp-farm/testing";
import { UnrecoverableError, Worker } from "bullmq";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import {
  cleanTasks,
  FarmConnection,
  listTasks,
  RedisTaskSink,
  readFarmStatus,
  resolveQueues,
  STITCH_QUEUE,
  setQueuesPaused,
  TaskImporter,
  UnknownQueueError,
} from "../src/index.js";

let farm: FarmConnection;
let media: { dir: string; remove: () => Promise<void> };

beforeEach(async () => {
  farm = await FarmConnection.open(inject("redisUrl"), uniquePrefix("pipe-queues"));
  media = await temporaryDir("pipeline-queues");
});
afterEach(async () => {
  await farm.close();
  await media.remove();
});

async function importTasks(tasks: object[]): Promise<void> {
  const text = tasks.map((task) => JSON.stringify(task)).join("\n");
  const sink = new RedisTaskSink(farm, { attempts: 1, backoffMs: 100 });
  try {
    const report = await new TaskImporter(sink).import(
      readTaskRecords(Readable.from([Buffer.from(text)])),
      new TaskValidator({ mediaRoot: media.dir }),
      { source: "test" },
    );
    expect(report.imported).toHaveLength(tasks.length);
  } finally {
    await sink.flows.close();
  }
}

const travel = [
  { task_id: "seg_01", prompt: "one" },
  { task_id: "seg_02", prompt: "two" },
  { task_id: "travel", stitch: { from: ["seg_01", "seg_02"] } },
];

describe("the stitch queue in the operator views", () => {
  it("is not listed before a flow used it, and is once one did: status, ls and the farm's queue list", async () => {
    await importTasks([{ task_id: "single", prompt: "alone" }]);
    expect(await farm.queues.taskQueueNames()).toEqual(["model.t2v"]);
    expect((await readFarmStatus(farm)).queues.map((queue) => queue.queue)).toEqual([
      "model.t2v",
      "quarantine",
    ]);

    await importTasks(travel);
    expect(await farm.queues.taskQueueNames()).toEqual(["model.t2v", STITCH_QUEUE]);
    const status = await readFarmStatus(farm);
    expect(status.queues.map((queue) => queue.queue)).toEqual(["model.t2v", STITCH_QUEUE, "quarantine"]);
    const stitch = status.queues.find((queue) => queue.queue === STITCH_QUEUE);
    // Its segments have not run: the stitch waits for them, and says so.
    expect(stitch).toMatchObject({ model: null, paused: false, queued: 0 });
    expect(stitch?.counts).toMatchObject({ waiting_children: 1, waiting: 0, active: 0 });

    const listed = await listTasks(farm);
    expect(listed.find((task) => task.task_id === "travel")).toMatchObject({
      queue: STITCH_QUEUE,
      state: "waiting-children",
      model: null,
    });
    const waiting = await listTasks(farm, { state: "waiting" });
    expect(waiting.map((task) => task.task_id).sort()).toEqual(["seg_01", "seg_02", "single", "travel"]);
  });

  it("is paused and resumed with every queue, or alone by name; an unknown queue changes nothing", async () => {
    await importTasks(travel);
    const paused = await setQueuesPaused(farm, true);
    expect(paused).toEqual([
      { queue: "model.t2v", model: "t2v", paused: true },
      { queue: STITCH_QUEUE, model: null, paused: true },
    ]);
    expect((await readFarmStatus(farm)).queues.find((q) => q.queue === STITCH_QUEUE)?.paused).toBe(true);

    expect(await setQueuesPaused(farm, false, { queues: [STITCH_QUEUE] })).toEqual([
      { queue: STITCH_QUEUE, model: null, paused: false },
    ]);
    expect(await farm.queues.forModel("t2v").isPaused()).toBe(true);

    const error = await setQueuesPaused(farm, true, { queues: [STITCH_QUEUE, "ghost"] }).catch((e) => e);
    expect(error).toBeInstanceOf(UnknownQueueError);
    expect((error as Error).message).toBe("no queue 'ghost' (known: model.t2v, stitch)");
    expect(await farm.queues.byName(STITCH_QUEUE).isPaused()).toBe(false);
    expect(await resolveQueues(farm, { models: ["t2v"], queues: ["model.t2v", STITCH_QUEUE] })).toEqual([
      "model.t2v",
      STITCH_QUEUE,
    ]);
  });

  it("is cleaned with the model queues", async () => {
    await importTasks(travel);
    // Real BullMQ workers: the source fails, so the stitch fails without running.
    const workers = [`model.t2v`, STITCH_QUEUE].map(
      (queue) =>
        new Worker(
          queue,
          async () => {
            throw new UnrecoverableError("out of memory");
          },
          { connection: { url: inject("redisUrl") } as never, prefix: farm.keys.prefix },
        ),
    );
    try {
      await waitUntil(async () => (await farm.queues.byName(STITCH_QUEUE).getFailedCount()) === 1);
    } finally {
      await Promise.all(workers.map((worker) => worker.close()));
    }
    const report = await cleanTasks(farm, { state: "failed", olderThanMs: 0 });
    expect(report.removed.map((task) => [task.task_id, task.queue])).toEqual([
      ["seg_01", "model.t2v"],
      ["seg_02", "model.t2v"],
      ["travel", STITCH_QUEUE],
    ]);
    expect(await farm.queues.byName(STITCH_QUEUE).getJob("travel")).toBeUndefined();
  });
});
