import { describe, expect, it } from "vitest";
import { SharedReads } from "../src/reads/shared-reads.js";

describe("shared reads", () => {
  it("give the requests that ask at the same time one read's answer, and read again after it", async () => {
    const reads = new SharedReads();
    let count = 0;
    const gate = Promise.withResolvers<void>();
    const work = async () => {
      count += 1;
      const read = count;
      await gate.promise;
      return { read };
    };
    const asked = [reads.read("status", work), reads.read("status", work), reads.read("other", work)];
    gate.resolve();
    const [first, second, other] = await Promise.all(asked);
    expect(first).toBe(second);
    expect([first, other]).toEqual([{ read: 1 }, { read: 2 }]);
    expect(await reads.read("status", work)).toEqual({ read: 3 });
  });

  it("give a failed read's error to each request that shared it, and keep nothing of it", async () => {
    const reads = new SharedReads();
    const failing = () => Promise.reject(new Error("Redis is gone"));
    const asked = [reads.read("status", failing), reads.read("status", failing)];
    await expect(Promise.all(asked)).rejects.toThrow("Redis is gone");
    await expect(asked[1]).rejects.toThrow("Redis is gone");
    expect(await reads.read("status", async () => "back")).toBe("back");
  });
});
