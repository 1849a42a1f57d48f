import { ModelBacklog, SlotRegistry } from "@wgp-farm/queue";
import { testSlotStatus } from "@wgp-farm/testing";
import { describe, expect, it } from "vitest";
import { JobScheduler } from "../src/scheduling/job-scheduler.js";
import { CLAIM_SWITCH_SCRIPT } from "../src/scheduling/scripts/claim-switch.js";
import { importTasks, type TestFarm, t2vTask, testFarm } from "./support.js";

const MODELS = ["t2v", "vace_14B"];

/** `slots` fresh slots (no model loaded), published as a worker would, and tasks of both models. */
async function freshFarm(label: string, slots: number, tasks: { t2v: number; vace_14B: number }) {
  const tf = await testFarm(label);
  await tf.farm.queues.registerModels(MODELS);
  const registry = new SlotRegistry(tf.farm.redis, tf.farm.keys);
  const ids = Array.from({ length: slots }, (_, i) => `gpu${i}@fresh`);
  await Promise.all(ids.map((id) => registry.publish(testSlotStatus(id))));
  const of = (model: string, count: number) =>
    Array.from({ length: count }, (_, i) => t2vTask(`${model}-${i}`, { model }));
  await importTasks(tf, [...of("t2v", tasks.t2v), ...of("vace_14B", tasks.vace_14B)]);
  return { tf, ids };
}

/** Every fresh slot decides once, as they do when a bulk import lands; the models they were sent to. */
async function firstDecisions(tf: TestFarm, ids: readonly string[]): Promise<Record<string, number>> {
  const scheduler = new JobScheduler(tf.farm.redis, tf.farm.keys, {
    policy: "affinity",
    maxWaitMs: 600_000,
    backlogPerSlot: 2,
  });
  const split: Record<string, number> = {};
  for (const id of ids) {
    const next = await scheduler.next(id, null, MODELS);
    if (next.kind === "take") split[next.model] = (split[next.model] ?? 0) + 1;
  }
  return split;
}

describe("the first split of a fresh farm's slots", () => {
  it("gives each model the slots in proportion to its jobs, not its backlog's half to the biggest", async () => {
    // 12 slots, 24 + 12 jobs: 8 + 4 slots, 3 jobs each. The backlog rule alone allowed t2v 12 slots.
    const { tf, ids } = await freshFarm("split-jobs", 12, { t2v: 24, vace_14B: 12 });
    expect(await firstDecisions(tf, ids)).toEqual({ t2v: 8, vace_14B: 4 });
    // Each took a claim: the counts are the farm's, whoever decides next.
    expect(await tf.farm.redis.zcard(tf.farm.keys.switchClaims("t2v"))).toBe(8);
  });

  it("weighs the jobs by each model's typical job time once the farm knows them", async () => {
    // As many jobs of each, but a vace job takes 3 times a t2v one: 3 of 4 slots go to vace.
    const { tf, ids } = await freshFarm("split-times", 4, { t2v: 6, vace_14B: 6 });
    const backlog = new ModelBacklog(tf.farm.redis, tf.farm.keys);
    await backlog.recordJob("t2v", { loadMs: 300, generationMs: 1_000 });
    await backlog.recordJob("vace_14B", { loadMs: 300, generationMs: 3_000 });
    expect(await firstDecisions(tf, ids)).toEqual({ t2v: 1, vace_14B: 3 });
  });

  it("gives a model of one or two jobs its slot in the first split (not once the others' slots run out)", async () => {
    const { tf, ids } = await freshFarm("split-small", 6, { t2v: 30, vace_14B: 2 });
    expect(await firstDecisions(tf, ids)).toEqual({ t2v: 5, vace_14B: 1 });
  });

  it("counts the slots serving a model when the claim is made, not as the decision read them", async () => {
    // A wave of slots decides on one snapshot; the first ones' claims turn into serving entries
    // (released once published) before the later ones claim: those must count them.
    const tf = await testFarm("claim-serving");
    const { redis, keys } = tf.farm;
    const now = Date.now();
    const claim = (slot: string, allowed: number) =>
      redis.eval(
        CLAIM_SWITCH_SCRIPT,
        2,
        keys.switchClaims("t2v"),
        keys.serving("t2v"),
        slot,
        now + 10_000,
        now,
        allowed,
      );
    await redis.zadd(
      keys.serving("t2v"),
      now + 15_000,
      "gpu0@a",
      now + 15_000,
      "gpu1@a",
      now - 1,
      "gpu2@gone",
    );
    expect(await claim("gpu3@b", 2)).toBe(0);
    expect(await claim("gpu3@b", 3)).toBe(1);
    expect(await claim("gpu4@b", 3)).toBe(0);
    // A slot already serving the model is not counted against its own claim.
    expect(await claim("gpu1@a", 3)).toBe(1);
  });
});
