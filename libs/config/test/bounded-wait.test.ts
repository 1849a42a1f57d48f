import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { answerWithin, settleWithin } from "../src/index.js";

describe("answerWithin", () => {
  it("gives the work's answer when it comes in time", async () => {
    await expect(answerWithin(sleep(5, "pong"), 1_000, new Error("no answer"))).resolves.toBe("pong");
  });

  it("passes the work's own failure through", async () => {
    const work = Promise.reject(new Error("refused"));
    await expect(answerWithin(work, 1_000, new Error("no answer"))).rejects.toThrow("refused");
  });

  it("throws the given error when the work has not answered in time", async () => {
    const started = Date.now();
    const hanging = new Promise<string>(() => {});
    await expect(answerWithin(hanging, 50, () => new Error("no answer in 50 ms"))).rejects.toThrow(
      "no answer in 50 ms",
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it("handles a rejection of work that came after the timeout", async () => {
    const late = sleep(40).then(() => Promise.reject(new Error("late")));
    await expect(answerWithin(late, 5, new Error("too slow"))).rejects.toThrow("too slow");
    // An unhandled rejection here would fail the run.
    await sleep(60);
  });
});

describe("settleWithin", () => {
  it("says true when the work settles in time, whether it succeeds or fails", async () => {
    await expect(settleWithin(sleep(5), 1_000)).resolves.toBe(true);
    await expect(settleWithin(Promise.reject(new Error("gone")), 1_000)).resolves.toBe(true);
  });

  it("says false when the work is still running at the bound", async () => {
    await expect(settleWithin(new Promise(() => {}), 20)).resolves.toBe(false);
  });
});
