import { FarmConnection, ModelBacklog } from "@wgp-farm/queue";
import { uniquePrefix } from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";

let farm: FarmConnection;

beforeEach(async () => {
  farm = await FarmConnection.open(inject("redisUrl"), uniquePrefix("backlog"));
});
afterEach(async () => {
  await farm.close();
});

describe("ModelBacklog's model times", () => {
  it("keeps a moving average per model, a load only when a job loaded, beside each queue's backlog", async () => {
    await farm.queues.registerModels(["t2v", "vace_14B"]);
    await farm.queues.forModel("t2v").add("waiting", { task_id: "waiting" } as never);
    const backlog = new ModelBacklog(farm.redis, farm.keys);
    await backlog.recordJob("t2v", { loadMs: 300, generationMs: 2_000 });
    await backlog.recordJob("t2v", { loadMs: 0, generationMs: 6_000 });
    await backlog.recordJob("t2v", { loadMs: 700, generationMs: 2_000 });

    const [t2v, vace] = await backlog.read(["t2v", "vace_14B"]);
    // A quarter weight for each newest job: 2,000 → 3,000 → 2,750 ms; loads 300 → 400 ms.
    expect(t2v).toMatchObject({ model: "t2v", ready: 1, loadMs: 400, jobMs: 2_750 });
    expect(vace).toMatchObject({ model: "vace_14B", ready: 0, loadMs: null, jobMs: null });
  });

  it("stays one field per model and time, whatever the number of jobs", async () => {
    const backlog = new ModelBacklog(farm.redis, farm.keys);
    for (let i = 0; i < 50; i += 1) {
      await backlog.recordJob(i % 2 === 0 ? "t2v" : "vace_14B", { loadMs: 100, generationMs: 1_000 + i });
    }
    expect(await farm.redis.hlen(farm.keys.modelTimings)).toBe(4);
  });
});
