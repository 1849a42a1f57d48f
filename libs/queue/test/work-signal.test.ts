import {
  FarmConnection,
  idleRosterKey,
  importTaskSource,
  RedisTaskSink,
  readModelDemand,
  readWorkEntry,
  SlotRegistry,
  type SlotStatus,
  setQueuesPaused,
  workBroadcastKey,
  workInboxKey,
} from "@wgp-farm/queue";
import { uniquePrefix } from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";

let farm: FarmConnection;

beforeEach(async () => {
  farm = await FarmConnection.open(inject("redisUrl"), uniquePrefix("work"));
});
afterEach(async () => {
  await farm.close();
});

async function entries() {
  const raw = await farm.redis.xrange(farm.keys.workSignal, "-", "+");
  return raw.map(([, fields]) => readWorkEntry(fields));
}

async function importTasks(tasks: Record<string, unknown>[]): Promise<void> {
  const body = Buffer.from(JSON.stringify(tasks));
  await importTaskSource(
    new RedisTaskSink(farm, { attempts: 1, backoffMs: 1000 }),
    {
      stream: (async function* () {
        yield body;
      })(),
      baseDir: "/",
      name: "test",
    },
    {},
  );
}

const slotStatus = (id: string, model: string | null, state: SlotStatus["state"]): SlotStatus =>
  ({
    slot_id: id,
    host: "h",
    gpu_index: 0,
    gpu_name: null,
    pid: 1,
    state,
    loaded_model: model,
    current: null,
    started_at: new Date().toISOString(),
    updated_at: new Date().toISOString(),
    jobs_done: 0,
    jobs_failed: 0,
    busy_ms: 0,
    model_switches: 0,
    engine_restarts: 0,
    last_error: null,
  }) as unknown as SlotStatus;

const task = (id: string, model: string) => ({ task_id: id, prompt: id, model, seed: 1 });

describe("the farm's work signal", () => {
  it("gets one entry per model per import, counting its tasks; progress writes none", async () => {
    await importTasks([task("a", "t2v"), task("b", "t2v"), task("c", "i2v")]);
    expect(await entries()).toEqual([
      { reason: "add", models: ["t2v"], count: 2, taskIds: [], readyAt: null, serving: 0, to: null, hops: 0 },
      { reason: "add", models: ["i2v"], count: 1, taskIds: [], readyAt: null, serving: 0, to: null, hops: 0 },
    ]);
    const job = await farm.queues.forModel("t2v").getJob("a");
    await job?.updateProgress({ percent: 50 });
    expect(await entries()).toHaveLength(2);
  });

  it("carries the ready time of a retry in backoff, and a resume", async () => {
    const queue = farm.queues.forModel("t2v");
    await farm.queues.registerModels(["t2v"]);
    const readyAt = Date.now() + 60_000;
    await queue.add("t", { task: task("r", "t2v") } as never, { jobId: "r", delay: 60_000 });
    await farm.work.announce(["t2v"], "retry", ["r"]);
    await setQueuesPaused(farm, true, { models: ["t2v"] });
    await setQueuesPaused(farm, false, { models: ["t2v"] });
    const [retry, resume] = await entries();
    expect(retry).toMatchObject({ reason: "retry", models: ["t2v"], taskIds: ["r"] });
    expect(Math.abs((retry?.readyAt ?? 0) - readyAt)).toBeLessThan(1_000);
    expect(resume).toEqual({
      reason: "resume",
      models: ["t2v"],
      count: 1,
      taskIds: [],
      readyAt: null,
      serving: 0,
      to: null,
      hops: 0,
    });
  });

  it("counts a resume as one arrival per task waiting in the resumed queue", async () => {
    await farm.queues.registerModels(["t2v"]);
    await setQueuesPaused(farm, true, { models: ["t2v"] });
    const queue = farm.queues.forModel("t2v");
    for (const id of ["a", "b", "c"]) await queue.add("t", { task: task(id, "t2v") } as never, { jobId: id });
    await setQueuesPaused(farm, false, { models: ["t2v"] });
    expect((await entries()).filter((entry) => entry?.reason === "resume")).toMatchObject([
      { models: ["t2v"], count: 3 },
    ]);
  });

  it("says how many live slots hold the model", async () => {
    const registry = new SlotRegistry(farm.redis, farm.keys);
    await registry.publish(slotStatus("s1", "t2v", "busy"));
    await farm.work.announce(["t2v", "i2v"], "add");
    expect((await entries()).map((entry) => [entry?.models[0], entry?.serving])).toEqual([
      ["t2v", 1],
      ["i2v", 0],
    ]);
  });

  it("names the processes on the idle roster, holders of the model first, one per task, for a few tasks", async () => {
    const later = Date.now() + 60_000;
    await farm.redis.zadd(idleRosterKey(farm.keys), later, "p-any-1", later, "p-any-2", later, "p-holder");
    await farm.redis.zadd(idleRosterKey(farm.keys, "t2v"), later, "p-holder");
    await farm.redis.zadd(idleRosterKey(farm.keys), Date.now() - 1, "p-gone");
    await farm.work.announce(["t2v"], "add");
    await farm.work.announce(["t2v", "t2v"], "add");
    await farm.work.announce(["i2v", "i2v", "i2v", "i2v"], "add");
    await farm.work.announce(["i2v", "i2v", "i2v", "i2v", "i2v"], "add");
    const [one, two, four, five] = await entries();
    expect(one?.to).toEqual(["p-holder"]);
    expect(two?.to?.[0]).toBe("p-holder");
    expect(two?.to).toHaveLength(2);
    expect(four?.to?.sort()).toEqual(["p-any-1", "p-any-2", "p-holder"]);
    // Bulk work names no process: every process decides for itself.
    expect(five?.to).toBeNull();
    // An expired entry (its process died) is dropped, never named.
    expect(await farm.redis.zscore(idleRosterKey(farm.keys), "p-gone")).toBeNull();
  });

  it("names no process for a retry in backoff, a stall, or when none is idle", async () => {
    const queue = farm.queues.forModel("t2v");
    await queue.add("t", { task: task("r", "t2v") } as never, { jobId: "r", delay: 60_000 });
    await farm.work.announce(["t2v"], "add");
    await farm.redis.zadd(idleRosterKey(farm.keys), Date.now() + 60_000, "p1");
    await farm.work.announce(["t2v"], "retry", ["r"]);
    await farm.work.announce(["t2v"], "stall", ["s"]);
    await farm.work.announce(["t2v"], "requeue", [], 1);
    expect((await entries()).map((entry) => [entry?.reason, entry?.to, entry?.hops])).toEqual([
      ["add", null, 0],
      ["retry", null, 0],
      ["stall", null, 0],
      ["requeue", ["p1"], 1],
    ]);
  });

  it("delivers an entry that names processes to their own streams only, any other to every reader", async () => {
    const later = Date.now() + 60_000;
    await farm.redis.zadd(idleRosterKey(farm.keys), later, "p-any", later, "p-holder");
    await farm.redis.zadd(idleRosterKey(farm.keys, "t2v"), later, "p-holder");
    await farm.work.announce(["t2v"], "add");
    await farm.work.announce(["t2v", "t2v"], "add");
    await farm.work.announce(["i2v", "i2v", "i2v", "i2v", "i2v"], "add");
    const read = async (key: string) =>
      (await farm.redis.xrange(key, "-", "+")).map(([, fields]) => readWorkEntry(fields));
    // The farm's stream keeps all three; the copies carry the same fields.
    const [one, two, bulk] = await entries();
    expect(await read(workInboxKey(farm.keys, "p-holder"))).toEqual([one, two]);
    expect(await read(workInboxKey(farm.keys, "p-any"))).toEqual([two]);
    expect(await read(workBroadcastKey(farm.keys))).toEqual([bulk]);
    // A process's own stream goes when nobody writes to it for a while (its process may be gone).
    const ttl = await farm.redis.pttl(workInboxKey(farm.keys, "p-holder"));
    expect(ttl).toBeGreaterThan(30_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it("ignores entries of another shape", () => {
    expect(readWorkEntry(["something", "else"])).toBeNull();
  });
});

describe("model demand (autoscaler signals)", () => {
  it("counts waiting, prioritized and due delayed tasks, the oldest wait and the slots serving each model", async () => {
    await farm.queues.registerModels(["t2v", "i2v"]);
    const queue = farm.queues.forModel("t2v");
    const created = Date.now() - 5_000;
    await queue.add("t", {} as never, { jobId: "w", timestamp: created });
    await queue.add("t", {} as never, { jobId: "p", priority: 3 });
    await queue.add("t", {} as never, { jobId: "d-due", delay: 1 });
    await queue.add("t", {} as never, { jobId: "d-later", delay: 60_000 });
    const registry = new SlotRegistry(farm.redis, farm.keys);
    await registry.publish(slotStatus("s1", "t2v", "busy"));
    await registry.publish(slotStatus("s2", "t2v", "idle"));
    await registry.publish(slotStatus("s3", "i2v", "restarting"));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const demand = await readModelDemand(farm);
    const t2v = demand.find((d) => d.model === "t2v");
    expect(t2v).toMatchObject({ ready: 3, serving_slots: 2, paused: false });
    expect(t2v?.oldest_wait_s).toBeGreaterThanOrEqual(4.9);
    expect(demand.find((d) => d.model === "i2v")).toEqual({
      model: "i2v",
      ready: 0,
      oldest_wait_s: null,
      serving_slots: 0,
      paused: false,
    });
    // A slot that switches model stops counting for the old one at once.
    await registry.publish(slotStatus("s2", "i2v", "loading"));
    const after = await readModelDemand(farm);
    expect(after.map((d) => [d.model, d.serving_slots])).toEqual([
      ["i2v", 1],
      ["t2v", 1],
    ]);
  });
});
