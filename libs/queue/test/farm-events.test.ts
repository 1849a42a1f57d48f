import { compareEventIds, FarmConnection, FarmEvents, retryTask } from "@wgp-farm/queue";
import { importTestTasks, uniquePrefix } from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { NO_RETRIES, runTasks } from "./support/run-jobs.js";
import { watchSentCommands } from "./support/sent-commands.js";

let farm: FarmConnection;

beforeEach(async () => {
  farm = await FarmConnection.open(inject("redisUrl"), uniquePrefix("events"));
});
afterEach(async () => {
  await farm.close();
});

describe("FarmEvents", () => {
  it("logs a queued event per imported task and keeps the webhooks tasks ask for", async () => {
    // The fixture passes fields it does not name through to the task.
    const hooked = { task_id: "q-2", webhook: { url: "https://example.com/h" } };
    await importTestTasks(farm, [{ task_id: "q-1" }, hooked]);
    const log = new FarmEvents(farm.redis, farm.keys);
    const events = await log.after("0-0", 100);
    expect(events.map((event) => [event.type, event.task_id, event.state, event.model])).toEqual([
      ["queued", "q-1", "waiting", "t2v"],
      ["queued", "q-2", "waiting", "t2v"],
    ]);
    expect(await farm.redis.hgetall(farm.keys.taskWebhooks)).toEqual({
      "q-2": JSON.stringify({ url: "https://example.com/h" }),
    });
    // A re-import of the same tasks queues nothing, and so logs nothing.
    await importTestTasks(farm, [{ task_id: "q-1" }]);
    expect(await log.after(events.at(-1)?.id ?? "0-0", 100)).toEqual([]);
  });

  it("logs a retried task as queued again", async () => {
    await importTestTasks(farm, [{ task_id: "bad-again" }], NO_RETRIES);
    await runTasks(farm, "t2v", 1);
    const log = new FarmEvents(farm.redis, farm.keys);
    const before = (await log.lastId()) ?? "0-0";
    await retryTask(farm, "bad-again");
    expect((await log.after(before, 10)).map((event) => `${event.type}:${event.task_id}`)).toEqual([
      "queued:bad-again",
    ]);
  });

  it("stays bounded, skips entries it cannot read, and orders ids as numbers", async () => {
    const log = new FarmEvents(farm.redis, farm.keys, { maxLen: 10 });
    for (let i = 0; i < 500; i += 1) await log.record({ type: "progress", task_id: `p-${i}`, model: "t2v" });
    // `MAXLEN ~` trims whole stream nodes (100 entries by default): about the cap, never the whole history.
    expect(await farm.redis.xlen(log.key)).toBeLessThan(200);
    await farm.redis.xadd(log.key, "*", "event", "{not json");
    const first = (await log.firstId()) ?? "0-0";
    const after = await log.after(first, 1000);
    expect(after.at(-1)?.task_id).toBe("p-499");
    expect(await log.has(first)).toBe(true);
    expect(await log.has("1-0")).toBe(false);
    expect(compareEventIds("999-0", "1000-0")).toBe(-1);
    expect(compareEventIds("5-10", "5-9")).toBe(1);
    expect(compareEventIds("5-1", "5-1")).toBe(0);
  });

  it("writes the events recorded in one event-loop turn with one command, in order", async () => {
    const log = new FarmEvents(farm.redis, farm.keys);
    // The first call of the script loads it into Redis (a second command): not this test's call.
    await Promise.all([
      log.record({ type: "queued", task_id: "warm-1", model: "t2v" }),
      log.record({ type: "queued", task_id: "warm-2", model: "t2v" }),
    ]);
    const before = (await log.lastId()) ?? "0-0";
    const { sent, stop } = await watchSentCommands(farm.redis);
    try {
      await log.record({ type: "started", task_id: "b-1", model: "t2v", slot: "gpu0@h" });
      await Promise.all([
        log.record({ type: "progress", task_id: "b-2", model: "t2v", data: { percent: 50 } }),
        log.record({ type: "completed", task_id: "b-3", model: "t2v" }),
      ]);
      await farm.redis.ping();
      expect(sent.filter((command) => ["xadd", "evalsha", "eval"].includes(command))).toEqual([
        "xadd",
        "evalsha",
      ]);
    } finally {
      stop();
    }
    const events = await log.after(before, 10);
    expect(events.map((event) => [event.type, event.task_id, event.state])).toEqual([
      ["started", "b-1", "active"],
      ["progress", "b-2", "active"],
      ["completed", "b-3", "completed"],
    ]);
    expect(events[1]?.data).toEqual({ percent: 50 });
  });
});
