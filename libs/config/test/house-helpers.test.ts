import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { bestEffort, ConfigError, ExitCode, readRecord, UserError } from "../src/index.js";

function recordingLogger() {
  const lines: { level: string; args: unknown[] }[] = [];
  const at =
    (level: string) =>
    (...args: unknown[]) =>
      void lines.push({ level, args });
  return { lines, logger: { debug: at("debug"), info: at("info"), warn: at("warn") } };
}

describe("bestEffort", () => {
  it("resolves true when the work succeeds and logs nothing", async () => {
    const { lines, logger } = recordingLogger();
    await expect(bestEffort(Promise.resolve(1), logger, "writing the status")).resolves.toBe(true);
    expect(lines).toEqual([]);
  });

  it("logs a failure with its step name instead of throwing", async () => {
    const { lines, logger } = recordingLogger();
    const ok = await bestEffort(
      () => Promise.reject(new Error("gone")),
      logger,
      "releasing the claim",
      "warn",
    );
    expect(ok).toBe(false);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.level).toBe("warn");
    expect(String(lines[0]?.args[1])).toContain("releasing the claim failed");
  });
});

describe("readRecord", () => {
  const Slot = z.object({ slot_id: z.string(), jobs: z.number() });

  it("returns the parsed record", () => {
    expect(readRecord(Slot, '{"slot_id":"h:gpu0","jobs":3}', "slot-a")).toEqual({
      slot_id: "h:gpu0",
      jobs: 3,
    });
  });

  it("treats an absent record as absent", () => {
    expect(readRecord(Slot, null, "slot-b")).toBeUndefined();
  });

  it("skips a record in another shape and says so once per kind", () => {
    const warn = vi.fn();
    expect(readRecord(Slot, '{"slot_id":1}', "slot-c", { warn })).toBeUndefined();
    expect(readRecord(Slot, "not json", "slot-c", { warn })).toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/slot-c record has an unexpected shape at slot_id/);
  });
});

describe("UserError", () => {
  it("carries the exit code, and configuration errors are user errors", () => {
    expect(new UserError("x", ExitCode.failed).exitCode).toBe(1);
    const config = new ConfigError("bad");
    expect(config).toBeInstanceOf(UserError);
    expect(config.exitCode).toBe(ExitCode.usage);
  });
});
