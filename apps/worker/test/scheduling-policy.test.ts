import { describe, expect, it } from "vitest";
import { decideNextQueue, type QueueSnapshot, type SchedulingInput } from "../src/index.js";
import { holdersFinishMs, tailWorthSwitching } from "../src/scheduling/scheduling-policy.js";

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
    running: 0,
    tailStartedAt: null,
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
      why: "own",
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
      why: {
        rule: "left-to-holders",
        models: [{ model: "vace_14B", ready: 2, helpers: 1, holdersFinishMs: null, switchFinishMs: null }],
      },
    });
    expect(decideNextQueue(input(null, [queue("vace_14B", 1, 10_000, { claims: 1 })], {}))).toMatchObject({
      kind: "idle",
      recheckAt: NOW + MAX_WAIT - 10_000,
    });
  });

  it("ignores paused queues and is idle without work", () => {
    expect(decideNextQueue(input("t2v", [queue("t2v", 5, 1_000, { blocked: true })], {}))).toEqual({
      kind: "idle",
      recheckAt: null,
      why: { rule: "nothing-ready" },
    });
  });

  it("leaves a model's tail to its slots when its loads are long (WanGP: minutes)", () => {
    // 2 slots on vace, each 10 s into a 60 s job, 2 ready: they finish the last at 110 s; a switching
    // slot would at 180 s (2-minute load) — and the margin asks for 300 s.
    const long = { loadMs: 120_000, jobMs: 60_000, running: 2, tailStartedAt: NOW - 10_000 };
    const vace = queue("vace_14B", 2, 1_000, long);
    expect(holdersFinishMs(vace, NOW)).toBe(110_000);
    expect(tailWorthSwitching(vace, NOW)).toBe(false);
    expect(decideNextQueue(input("t2v", [vace], { vace_14B: 2 }))).toMatchObject({ kind: "idle" });
  });

  it("takes a model's last job when its slots would finish it later than a short load and the job", () => {
    // The same tail, 2 s jobs just begun, 300 ms loads: holders end the last job at 4 s, a switch at 2.3 s.
    const short = { loadMs: 300, jobMs: 2_000, running: 2, tailStartedAt: NOW - 100 };
    const vace = queue("vace_14B", 2, 1_000, short);
    expect(holdersFinishMs(vace, NOW)).toBe(3_900);
    expect(tailWorthSwitching(vace, NOW)).toBe(true);
    // One slot at a time: the next decides on what that one leaves.
    expect(decideNextQueue(input("t2v", [vace], { vace_14B: 2 }))).toEqual({
      kind: "take",
      model: "vace_14B",
      switching: true,
      helpersAllowed: 3,
      why: "tail",
    });
    // Holders about to end their jobs take the last one sooner than any switch could.
    const ending = queue("vace_14B", 2, 1_000, { ...short, tailStartedAt: NOW - 1_900 });
    expect(tailWorthSwitching(ending, NOW)).toBe(false);
    // One job claimed by a switching slot: the other goes to a holder 1.5 s into its job (2.5 s < 2.6 s).
    const claimed = queue("vace_14B", 2, 1_000, { ...short, claims: 1, tailStartedAt: NOW - 1_500 });
    expect(tailWorthSwitching(claimed, NOW)).toBe(false);
  });

  it("keeps --switch-backlog-per-slot alone while a model's times are unknown", () => {
    const unknown = queue("vace_14B", 2, 1_000, { running: 2, tailStartedAt: NOW });
    expect(holdersFinishMs(unknown, NOW)).toBeNull();
    expect(tailWorthSwitching(unknown, NOW)).toBe(false);
    expect(
      tailWorthSwitching(queue("vace_14B", 2, 1_000, { jobMs: 2_000, running: 2, tailStartedAt: NOW }), NOW),
    ).toBe(false);
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
