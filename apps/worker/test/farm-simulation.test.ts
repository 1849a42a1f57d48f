import { describe, expect, it } from "vitest";
import { simulateFarm } from "../../../test/bench/farm-sim/farm-simulation.ts";

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
    expect(result.arrivals.pickupP50Ms).toBeGreaterThanOrEqual(0);
    // Idle workers read no queue event stream: XREAD only on the work signal, once per worker per wait.
    expect(result.busy.byCommand.xread ?? 0).toBeLessThan(result.busy.jobs * 2);
    // Connections grow with workers, not slots × queues.
    expect(result.connections.peak).toBeLessThan(2 * (3 + 3 + 1) + 4);
  }, 120_000);
});
