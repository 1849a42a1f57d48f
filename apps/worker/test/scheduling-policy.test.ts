import { describe, expect, it } from "vitest";
import { decideNextQueue, type QueueSnapshot, type SchedulingInput } from "../src/index.js";
import { switchBacklogPerSlot } from "../src/scheduling/scheduling-policy.js";

const NOW = 1_000_000;
const MAX_WAIT = 60_000;

function queue(
  model: string,
  ready: number,
  headAgeMs: number | null = ready > 0 ? 1_000 : null,
  extra: Partial<QueueSnapshot> = {},
): QueueSnapshot {
  return {
    model,
    queue: `model.${model}`,
    ready,
    headAgeMs,
    nextDelayedAt: null,
    blocked: false,
    claims: 0,
    loadMs: null,
    jobMs: null,
    ...extra,
  };
}

function input(
  loadedModel: string | null,
  queues: QueueSnapshot[],
  servers?: Record<string, number>,
): SchedulingInput {
  return {
    policy: "affinity",
    loadedModel,
    queues,
    servers: servers ? new Map(Object.entries(servers)) : undefined,
    now: NOW,
    maxWaitMs: MAX_WAIT,
    backlogPerSlot: 2,
  };
}

describe("the scheduling policy", () => {
  it("keeps to the loaded model while its queue has jobs, without reading the registry", () => {
    const decision = decideNextQueue(input("t2v", [queue("t2v", 1), queue("vace_14B", 50, 30_000)]));
    expect(decision).toEqual({
      kind: "take",
      model: "t2v",
      switching: false,
      helpersAllowed: Number.POSITIVE_INFINITY,
    });
  });

  it("switches for a job past the wait bound that no slot serves, even with its own queue full", () => {
    const queues = [queue("t2v", 10), queue("vace_14B", 1, MAX_WAIT + 1)];
    expect(decideNextQueue(input("t2v", queues))).toEqual({ kind: "need-servers" });
    expect(decideNextQueue(input("t2v", queues, {}))).toMatchObject({
      kind: "take",
      model: "vace_14B",
      switching: true,
    });
    // Served elsewhere: that slot gets to it; this one keeps its model.
    expect(decideNextQueue(input("t2v", queues, { vace_14B: 1 }))).toMatchObject({
      kind: "take",
      model: "t2v",
    });
  });

  it("goes to the model under most pressure when its own queue is empty", () => {
    const queues = [queue("t2v", 0), queue("i2v", 3, 5_000), queue("vace_14B", 8, 1_000)];
    expect(decideNextQueue(input("t2v", queues, {}))).toMatchObject({
      kind: "take",
      model: "vace_14B",
      helpersAllowed: 4,
    });
    // Two slots already on vace leave 8 - 2·2 = 4 jobs for a third; i2v, unserved, has 3 (older: weighs a bit more).
    expect(decideNextQueue(input("t2v", queues, { vace_14B: 2 }))).toMatchObject({ model: "vace_14B" });
    expect(decideNextQueue(input("t2v", queues, { vace_14B: 3 }))).toMatchObject({ model: "i2v" });
  });

  it("leaves a backlog that the slots on it can clear, and says when to look again", () => {
    const queues = [queue("vace_14B", 2, 10_000), queue("t2v", 0, null, { nextDelayedAt: NOW + 5_000 })];
    expect(decideNextQueue(input(null, queues, { vace_14B: 1 }))).toEqual({
      kind: "idle",
      recheckAt: NOW + 5_000,
    });
    expect(decideNextQueue(input(null, [queue("vace_14B", 1, 10_000, { claims: 1 })], {}))).toEqual({
      kind: "idle",
      recheckAt: NOW + MAX_WAIT - 10_000,
    });
  });

  it("ignores paused queues and is idle without work", () => {
    expect(decideNextQueue(input("t2v", [queue("t2v", 5, 1_000, { blocked: true })], {}))).toEqual({
      kind: "idle",
      recheckAt: null,
    });
  });

  it("leaves a model's short tail to its slots when its loads are long (WanGP: minutes)", () => {
    // 4 jobs for 2 slots: 2 minutes each of them; a switch would cost a 2-minute load first.
    const long = { loadMs: 120_000, jobMs: 60_000 };
    expect(switchBacklogPerSlot(queue("vace_14B", 4, 1_000, long), 2)).toBe(2);
    const decision = decideNextQueue(input("t2v", [queue("vace_14B", 4, 1_000, long)], { vace_14B: 2 }));
    expect(decision).toMatchObject({ kind: "idle" });
  });

  it("takes a model's tail when its loads are short next to the work its slots have left", () => {
    // Same backlog per slot (2 × 2 s each), a 300 ms load: a switching slot finishes a job after 2.3 s.
    const short = { loadMs: 300, jobMs: 2_000 };
    expect(switchBacklogPerSlot(queue("vace_14B", 4, 1_000, short), 2)).toBeCloseTo(1.3);
    const decision = decideNextQueue(input("t2v", [queue("vace_14B", 4, 1_000, short)], { vace_14B: 2 }));
    // At most ⌈4 / 1.3⌉ = 4 slots on it: 2 serving, so 2 may switch.
    expect(decision).toEqual({ kind: "take", model: "vace_14B", switching: true, helpersAllowed: 4 });
    // One job per slot left: no switch finishes it sooner than its slots do.
    const one = decideNextQueue(input("t2v", [queue("vace_14B", 2, 1_000, short)], { vace_14B: 2 }));
    expect(one).toMatchObject({ kind: "idle" });
  });

  it("keeps --switch-backlog-per-slot while a model's times are unknown, and never exceeds it", () => {
    expect(switchBacklogPerSlot(queue("t2v", 3), 2)).toBe(2);
    expect(switchBacklogPerSlot(queue("t2v", 3, 1_000, { loadMs: 300, jobMs: null }), 2)).toBe(2);
    expect(switchBacklogPerSlot(queue("t2v", 3, 1_000, { loadMs: 0, jobMs: 2_000 }), 2)).toBe(1);
    expect(switchBacklogPerSlot(queue("t2v", 3, 1_000, { loadMs: 10_000, jobMs: 2_000 }), 2)).toBe(2);
  });

  it("plain FIFO takes the oldest head job whatever is loaded", () => {
    const queues = [queue("t2v", 5, 1_000), queue("vace_14B", 1, 2_000)];
    expect(decideNextQueue({ ...input("t2v", queues), policy: "fifo" })).toMatchObject({
      kind: "take",
      model: "vace_14B",
      switching: true,
    });
  });
});
