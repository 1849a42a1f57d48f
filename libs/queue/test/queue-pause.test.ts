import { ExitCode, UserError } from "@wgp-farm/config";
import { FarmConnection, resolveModels, setQueuesPaused, UnknownModelError } from "@wgp-farm/queue";
import { uniquePrefix } from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";

let farm: FarmConnection;

beforeEach(async () => {
  farm = await FarmConnection.open(inject("redisUrl"), uniquePrefix("pause"));
  await farm.queues.registerModels(["t2v", "i2v", "vace_14B"]);
});
afterEach(async () => {
  await farm.close();
});

describe("resolveModels", () => {
  it("gives every known model when none is named, and the named ones once each", async () => {
    expect(await resolveModels(farm)).toEqual(["i2v", "t2v", "vace_14B"]);
    expect(await resolveModels(farm, ["t2v", "t2v", "i2v"])).toEqual(["t2v", "i2v"]);
  });

  it("refuses an unknown model with a user error (exit 1) that lists the known ones", async () => {
    const error = await resolveModels(farm, ["t2v", "ghost"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownModelError);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(ExitCode.failed);
    expect((error as Error).message).toBe("no queue for model 'ghost' (known: i2v, t2v, vace_14B)");
  });
});

describe("setQueuesPaused", () => {
  it("pauses the named queues only, in Redis, and resumes them", async () => {
    const paused = await setQueuesPaused(farm, true, { models: ["t2v"] });
    expect(paused).toEqual([{ queue: "model.t2v", model: "t2v", paused: true }]);
    // Another connection (another host) sees the flag: it lives in Redis.
    const other = await FarmConnection.open(farm.url, farm.keys.prefix);
    try {
      expect(await other.queues.forModel("t2v").isPaused()).toBe(true);
      expect(await other.queues.forModel("i2v").isPaused()).toBe(false);
    } finally {
      await other.close();
    }
    const resumed = await setQueuesPaused(farm, false, { models: ["t2v"] });
    expect(resumed).toEqual([{ queue: "model.t2v", model: "t2v", paused: false }]);
  });

  it("pauses every model queue when none is named", async () => {
    const states = await setQueuesPaused(farm, true);
    expect(states.map((state) => [state.model, state.paused])).toEqual([
      ["i2v", true],
      ["t2v", true],
      ["vace_14B", true],
    ]);
  });

  it("changes nothing when one of the names is unknown", async () => {
    await expect(setQueuesPaused(farm, true, { models: ["t2v", "ghost"] })).rejects.toThrow(
      UnknownModelError,
    );
    expect(await farm.queues.forModel("t2v").isPaused()).toBe(false);
  });
});
