/**
 * The reliability suite at its short sizes, in the normal test run (CI). Each scenario attacks the
 * real system (redis-server, `wgp-farm worker` and `dashboard` processes, engine-py, signals) and must
 * keep every invariant; the figures are printed, never asserted. `npm run chaos` runs the full sizes.
 */
import { describe, expect, it } from "vitest";
import { summaryLine } from "./harness/scenario-result.ts";
import { SCENARIOS } from "./scenarios/index.ts";

describe("reliability (short sizes)", () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario.id}: nothing lost, nothing duplicated, nothing escapes`, async () => {
      const result = await scenario.run("short");
      console.log(summaryLine(result));
      expect(result.violations).toEqual([]);
      expect({ lost: result.lost, duplicated: result.duplicated, escaped: result.escaped }).toEqual({
        lost: 0,
        duplicated: 0,
        escaped: 0,
      });
      expect(result.trials).toBeGreaterThan(0);
    });
  }
});
