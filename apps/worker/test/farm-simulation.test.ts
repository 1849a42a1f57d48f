import { describe, expect, it } from "vitest";
import { simulateFarm, wholeJobsBoundMs } from "../../../test/bench/farm-sim/farm-simulation.ts";

// The farm simulator's short mode (`npm run bench` runs it at 1,000 slots): correctness only, no timing.
describe("the farm simulator, short", () => {
  it("runs every task exactly once on 16 virtual slots in 2 workers over 3 models, then picks up single arrivals", async () => {
    const result = await simulateFarm({
      slots: 16,
      models: 3,
      hostProcesses: 0,
      tasksPerSlot: 2,
      steps: 3,
      timings: { loadMs: 30, stepMs: 20 },
      idleSeconds: 1,
      arrivals: 3,
    });
    expect(result.startedOnce).toBe(true);
    expect(result.workers).toBe(2);
    expect(result.busy.jobs).toBe(32);
    expect(result.busy.makespanS).toBeGreaterThanOrEqual(result.busy.lowerBoundS);
    expect(result.busy.makespanS).toBeGreaterThanOrEqual(result.busy.wholeJobsBoundS);
    expect(result.arrivals.pickupP50Ms).toBeGreaterThanOrEqual(0);
    // Idle workers read no queue event stream: XREAD only on the work signal, once per worker per wait.
    expect(result.busy.byCommand.xread ?? 0).toBeLessThan(result.busy.jobs * 2);
    // Connections grow with workers, not slots × queues.
    expect(result.connections.peak).toBeLessThan(2 * (3 + 3 + 1) + 4);
  }, 120_000);
});

describe("the simulator's bound for whole jobs on whole slots", () => {
  it("is k jobs and one load when each model's jobs deal out k per slot, one more load or job when not", () => {
    // 6 jobs of a, 3 of b on 3 slots: 3 per slot, a a a | a a a | b b b.
    expect(wholeJobsBoundMs([..."aaaaaabbb"], 3, 100, 30)).toBe(330);
    // 4 of a, 5 of b on 3 slots: one slot must mix models (a second load) or run a fourth job.
    expect(wholeJobsBoundMs([..."aaaabbbbb"], 3, 100, 30)).toBe(360);
    expect(wholeJobsBoundMs([..."aaaabbbbb"], 3, 100, 500)).toBe(900);
  });
});
