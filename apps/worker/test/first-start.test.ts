import { rm } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { copyOfFakeWangp, readRecords, startWorker, testFarm } from "./support.js";

const INIT_S = 2;

async function initTimes(recordFile: string): Promise<number[]> {
  return (await readRecords(recordFile)).filter((r) => r.event === "init").map((r) => r.t);
}

describe("the first WanGP start on a host", () => {
  it("is made by one slot while the others wait; later starts on the same checkout run together", async () => {
    const tf = await testFarm("first-start");
    const wangpRoot = await copyOfFakeWangp(tf.dir);
    const env = { FAKE_WANGP_INIT_S: String(INIT_S) };

    const first = await startWorker(tf, { wangpRoot, slots: 3, env });
    const [a, b, c] = await initTimes(tf.recordFile);
    // The second and third engines began only once the first was ready, and then together.
    expect((b as number) - (a as number)).toBeGreaterThanOrEqual(INIT_S);
    expect((c as number) - (b as number)).toBeLessThan(INIT_S);
    await first.stop();

    await rm(tf.recordFile);
    await startWorker(tf, { wangpRoot, slots: 3, env });
    const again = await initTimes(tf.recordFile);
    expect(again).toHaveLength(3);
    expect(Math.max(...again) - Math.min(...again)).toBeLessThan(INIT_S);
  });
});
