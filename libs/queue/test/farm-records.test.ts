import {
  CancelChannel,
  FarmConnection,
  FarmKeys,
  HostRecords,
  readCancelledRecord,
  SlotRegistry,
} from "@wgp-farm/queue";
import { testSlotStatus, uniquePrefix, waitUntil } from "@wgp-farm/testing";
import { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { watchSentCommands } from "./support/sent-commands.js";

let farm: FarmConnection;
/** The commands a status publish could be sent as. */
const WRITES = new Set(["evalsha", "eval", "multi", "set", "zadd", "pexpire"]);

beforeEach(async () => {
  farm = await FarmConnection.open(inject("redisUrl"), uniquePrefix("records"));
});
afterEach(async () => {
  await farm.close();
});

describe("FarmKeys", () => {
  it("names BullMQ's keys as BullMQ's own queue does", () => {
    const keys = new FarmKeys("{wgp}");
    const queue = farm.queues.byName("model.t2v");
    const own = new FarmKeys(farm.keys.prefix);
    expect(own.jobKey("model.t2v", "task-1")).toBe(queue.toKey("task-1"));
    expect(own.queueEventsKey("model.t2v")).toBe(queue.keys.events);
    expect(own.queueKeys("model.t2v")).toEqual(queue.keys);
    expect(keys.jobLockKey("model.t2v", "task-1")).toBe("{wgp}:model.t2v:task-1:lock");
    expect(keys.doctorHosts).toBe("{wgp}:farm:doctor-hosts");
  });
});

describe("SlotRegistry", () => {
  it("lists live slots by id and prunes those whose status expired", async () => {
    const registry = new SlotRegistry(farm.redis, farm.keys, 200);
    await registry.publish(testSlotStatus("gpu1@b"));
    await registry.publish(testSlotStatus("gpu0@a", { state: "busy", loaded_model: "t2v" }));
    expect((await registry.list()).map((slot) => slot.slot_id)).toEqual(["gpu0@a", "gpu1@b"]);
    expect(await registry.get("gpu0@a")).toMatchObject({ state: "busy", loaded_model: "t2v" });

    await waitUntil(async () => (await registry.get("gpu1@b")) === null);
    expect(await registry.list()).toEqual([]);
    expect(await farm.redis.zcard(farm.keys.slots)).toBe(0);
  });

  it("leaves out a status in another shape (a slot of another version) without pruning it", async () => {
    const registry = new SlotRegistry(farm.redis, farm.keys);
    await registry.publish(testSlotStatus("gpu0@new"));
    await farm.redis.set(farm.keys.slot("gpu0@old"), JSON.stringify({ slot_id: "gpu0@old", state: 3 }));
    await farm.redis.zadd(farm.keys.slots, Date.now(), "gpu0@old");
    expect((await registry.list()).map((slot) => slot.slot_id)).toEqual(["gpu0@new"]);
    expect(await registry.get("gpu0@old")).toBeNull();
    expect(await farm.redis.zscore(farm.keys.slots, "gpu0@old")).not.toBeNull();
  });
});

describe("SlotRegistry's writes", () => {
  it("sends the statuses published in one event-loop turn as one script call, in order, the last of a slot winning", async () => {
    const registry = new SlotRegistry(farm.redis, farm.keys);
    // The first call of the script loads it into Redis (a second command): not this test's call.
    await registry.publish(testSlotStatus("gpu0@warm-up"));
    await registry.remove("gpu0@warm-up");
    const { sent, stop } = await watchSentCommands(farm.redis);
    try {
      const slots = Array.from({ length: 8 }, (_, i) => `gpu${i}@host`);
      await Promise.all([
        ...slots.map((slot, i) => registry.publish(testSlotStatus(slot, { loaded_model: `m${i % 2}` }))),
        registry.publish(testSlotStatus("gpu0@host", { state: "busy", loaded_model: "m1" })),
      ]);
      await farm.redis.ping();
      expect(sent.filter((command) => WRITES.has(command))).toEqual(["evalsha"]);
      expect(await registry.get("gpu0@host")).toMatchObject({ state: "busy", loaded_model: "m1" });
      expect(await farm.redis.zrange(farm.keys.serving("m0"), "0", "-1")).toEqual([
        "gpu2@host",
        "gpu4@host",
        "gpu6@host",
      ]);
      expect(await farm.redis.zcard(farm.keys.serving("m1"))).toBe(5);
      expect(await farm.redis.pttl(farm.keys.serving("m1"))).toBeGreaterThan(0);
      expect(await registry.list()).toHaveLength(8);
      // A slot that stops serving leaves its model's serving set.
      await registry.publish(testSlotStatus("gpu2@host", { state: "stopped", loaded_model: "m0" }));
      expect(await farm.redis.zrange(farm.keys.serving("m0"), "0", "-1")).toEqual(["gpu4@host", "gpu6@host"]);
    } finally {
      stop();
    }
  });
});

describe("HostRecords", () => {
  it("lists every host's doctor record by host name, skipping records it cannot read", async () => {
    const records = new HostRecords(farm.redis, farm.keys);
    await records.write({ host: "zeta", checked_at: "2026-01-02T00:00:00.000Z", output_marker: "z" });
    await records.write({ host: "alpha", checked_at: "2026-01-01T00:00:00.000Z" });
    await farm.redis.hset(records.key, "broken", "{not json");
    await farm.redis.hset(records.key, "odd", JSON.stringify({ host: 7 }));
    expect((await records.list()).map((record) => record.host)).toEqual(["alpha", "zeta"]);
    expect(await records.forget("zeta")).toBe(true);
    expect(await records.forget("zeta")).toBe(false);
    expect((await records.list()).map((record) => record.host)).toEqual(["alpha"]);
  });
});

describe("CancelChannel", () => {
  it("leaves a pending request that expires, and tells subscribers at once", async () => {
    const subscriber = new Redis(farm.url);
    try {
      const channel = new CancelChannel(farm.redis, farm.keys, 300);
      const heard: string[] = [];
      const unsubscribe = await channel.subscribe(subscriber, (taskId) => heard.push(taskId));
      await channel.request("task-1", "operator said so");
      await waitUntil(() => heard.includes("task-1"));
      expect(await channel.isRequested("task-1")).toBe(true);
      expect(await channel.requestOf("task-1")).toMatchObject({ reason: "operator said so" });
      await channel.clear("task-1");
      expect(await channel.requestOf("task-1")).toBeNull();

      await channel.request("task-2");
      await waitUntil(async () => !(await channel.isRequested("task-2")));
      await unsubscribe();
      await channel.request("task-3");
      expect(heard).toEqual(["task-1", "task-2"]);
    } finally {
      subscriber.disconnect();
    }
  });

  it("still reports a request written in another shape as a request", async () => {
    const channel = new CancelChannel(farm.redis, farm.keys);
    await farm.redis.set(farm.keys.cancelRequest("task-1"), "yes please");
    expect(await channel.requestOf("task-1")).toEqual({ reason: null, requested_at: "" });
  });
});

describe("cancel records", () => {
  it("reads an unreadable cancel record as a cancelled task with defaults", async () => {
    await farm.redis.hset(farm.keys.cancelled, "odd", JSON.stringify({ queue: 5, reason: "why" }));
    await farm.redis.hset(farm.keys.cancelled, "broken", "{");
    expect(await readCancelledRecord(farm, "odd")).toEqual({
      task_id: "odd",
      queue: "",
      reason: "why",
      cancelled_at: "",
      state: "unknown",
      task: null,
      import: null,
    });
    expect(await readCancelledRecord(farm, "broken")).toMatchObject({ task_id: "broken", state: "unknown" });
    expect(await readCancelledRecord(farm, "never")).toBeNull();
  });
});
