import { describe, expect, it } from "vitest";
import { decideNextQueue, type QueueSnapshot, type SchedulingInput } from "../src/index.js";
import { holdersFinishMs, lastRoundJobs, tailWorthSwitching } from "../src/scheduling/scheduling-policy.js";

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
    servers: new Map(Object.entries(servers ?? {})),
    now: NOW,
    maxWaitMs: MAX_WAIT,
    backlogPerSlot: 2,
  };
}

describe("the scheduling policy", () => {
  it("keeps to the loaded model while its queue has jobs", () => {
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

  it("goes to another model with a backlog beyond its slots when its own queue is empty, drawn by the room each has", () => {
    const queues = [queue("t2v", 0), queue("i2v", 3, 5_000), queue("vace_14B", 8, 1_000)];
    // No slot on either: room for 2 on i2v (3 jobs), 4 on vace (8 jobs): draws below 2/6 go to i2v.
    const draw = (random: number, servers: Record<string, number>) =>
      decideNextQueue({ ...input("t2v", queues, servers), random: () => random });
    expect(draw(0.9, {})).toMatchObject({
      kind: "take",
      model: "vace_14B",
      helpersAllowed: 4,
      why: "backlog",
    });
    expect(draw(0.3, {})).toMatchObject({ kind: "take", model: "i2v", helpersAllowed: 2 });
    // A model no slot is on comes first: its jobs would otherwise wait for the others to run out.
    expect(draw(0.9, { vace_14B: 2 })).toMatchObject({ model: "i2v" });
    // Four slots on vace clear its 8 jobs at 2 each: i2v is the one left.
    expect(draw(0.9, { vace_14B: 4, i2v: 1 })).toMatchObject({ model: "i2v" });
  });

  it("sends no more slots to a model than its share of the farm's slots, in proportion to its work", () => {
    const queues = [queue("t2v", 0, null, { running: 6 }), queue("vace_14B", 12, 1_000)];
    // 10 slots, 18 jobs left: vace's 12 call for 7 (the backlog rule alone: 6 of them; here the smaller).
    const decide = (servers: Record<string, number>, slots: number) =>
      decideNextQueue({ ...input("t2v", queues, servers), slots, random: () => 0 });
    expect(decide({}, 10)).toMatchObject({ model: "vace_14B", helpersAllowed: 6 });
    // 4 slots: vace's share is 3 (12 of 18 jobs); a fourth on it would take t2v's share.
    expect(decide({}, 4)).toMatchObject({ model: "vace_14B", helpersAllowed: 3 });
    // Times known: a t2v job takes 4 times a vace one, so t2v's 6 jobs are 2/3 of the work: vace gets 2 of 4.
    const timed = [
      queue("t2v", 0, null, { running: 6, jobMs: 4_000, loadMs: 300 }),
      queue("vace_14B", 12, 1_000, { jobMs: 1_000, loadMs: 300 }),
    ];
    expect(decideNextQueue({ ...input("t2v", timed, {}), slots: 4 })).toMatchObject({
      model: "vace_14B",
      helpersAllowed: 2,
    });
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
    // Both ready jobs are the holders' last round: two slots may switch for them at once.
    expect(lastRoundJobs(vace)).toBe(2);
    expect(decideNextQueue(input("t2v", [vace], { vace_14B: 2 }))).toEqual({
      kind: "take",
      model: "vace_14B",
      switching: true,
      helpersAllowed: 4,
      why: "tail",
    });
    // Holders about to end their jobs take the last one sooner than any switch could.
    const ending = queue("vace_14B", 2, 1_000, { ...short, tailStartedAt: NOW - 1_900 });
    expect(tailWorthSwitching(ending, NOW)).toBe(false);
    // One job claimed by a switching slot: the other goes to a holder 1.5 s into its job (2.5 s < 2.6 s).
    const claimed = queue("vace_14B", 2, 1_000, { ...short, claims: 1, tailStartedAt: NOW - 1_500 });
    expect(tailWorthSwitching(claimed, NOW)).toBe(false);
  });

  it("of two tails worth a switch, takes the one whose slots would end last", () => {
    const short = { loadMs: 300, jobMs: 2_000, tailStartedAt: NOW - 100 };
    // i2v: 2 slots, 2 jobs ready (one round: ends at 3.9 s); vace: 2 slots, 4 ready (two rounds: 5.9 s).
    const i2v = queue("i2v", 2, 1_000, { ...short, running: 2 });
    const vace = queue("vace_14B", 4, 1_000, { ...short, running: 2 });
    expect(decideNextQueue(input("t2v", [i2v, vace], { i2v: 2, vace_14B: 2 }))).toMatchObject({
      model: "vace_14B",
      why: "tail",
    });
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

  it("on the woken models' queues alone, switches only to a model no slot is on, one slot at a time", () => {
    const woken = (servers: Record<string, number>) => ({
      ...input(null, [queue("vace_14B", 40)], servers),
      partial: true,
      slots: 100,
    });
    expect(decideNextQueue(woken({}))).toEqual({
      kind: "take",
      model: "vace_14B",
      switching: false,
      helpersAllowed: 1,
      why: "backlog",
    });
    // Slots are on it: how many more it needs depends on every other queue.
    expect(decideNextQueue(woken({ vace_14B: 3 }))).toMatchObject({
      kind: "idle",
      why: { rule: "partial-view" },
    });
  });
});
