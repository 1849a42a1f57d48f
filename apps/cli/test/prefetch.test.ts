import { cp, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { HostLock } from "@wgp-farm/host";
import { readJsonLines, temporaryDir, waitUntil } from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ModelPrefetchResult } from "../src/prefetch/model-prefetch.js";
import { exitOf, runCli, startCollecting } from "./run-cli.js";

const FIXTURES = fileURLToPath(new URL("../../../test/fixtures/", import.meta.url));

interface Recorded {
  event: string;
  t: number;
  seconds?: number;
  model_type?: string;
  argv?: string[];
  cuda_visible_devices?: string | null;
  params?: Record<string, unknown>;
}

let work: { dir: string; remove: () => Promise<void> };
let wangpRoot: string;
let recordFile: string;

beforeEach(async () => {
  work = await temporaryDir("prefetch");
  wangpRoot = path.join(work.dir, "wangp");
  await cp(path.join(FIXTURES, "fake-wangp"), wangpRoot, {
    recursive: true,
    filter: (src) => !src.includes("__pycache__"),
  });
  recordFile = path.join(work.dir, "record.jsonl");
});
afterEach(async () => {
  await work.remove();
});

const prefetchArgs = (args: string[]) => ["prefetch", "--wangp-root", wangpRoot, "--json", ...args];
const prefetchEnv = (env: NodeJS.ProcessEnv) => ({
  PATH: `${path.join(FIXTURES, "fake-nvidia-smi")}:${process.env.PATH}`,
  FAKE_WANGP_RECORD: recordFile,
  FAKE_WANGP_MISSING_MODELS: "t2v,i2v",
  ...env,
});

function prefetch(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(prefetchArgs(args), { env: prefetchEnv(env) });
}

function startPrefetch(args: string[], env: NodeJS.ProcessEnv = {}) {
  return startCollecting(prefetchArgs(args), { env: prefetchEnv(env) });
}

function recorded(): Promise<Recorded[]> {
  return readJsonLines<Recorded>(recordFile);
}

const resultsOf = (stdout: string) => (JSON.parse(stdout) as { models: ModelPrefetchResult[] }).models;

describe("wgp-farm prefetch", () => {
  it("loads each missing model once in WanGP's --test mode and skips models already on the host", async () => {
    const run = await prefetch(["--models", "t2v,vace_14B,i2v", "--wgp-transformer-quantization", "fp8"]);
    expect(run.code).toBe(0);
    const results = resultsOf(run.stdout);
    expect(results.map((r) => [r.model_type, r.outcome, r.before])).toEqual([
      ["t2v", "loaded", "missing"],
      ["vace_14B", "present", "available"],
      ["i2v", "loaded", "missing"],
    ]);
    const records = await recorded();
    const init = records.filter((r) => r.event === "init");
    expect(init).toHaveLength(1);
    expect(init[0]?.argv).toContain("--test");
    expect(init[0]?.cuda_visible_devices).toBe("0");
    expect(JSON.stringify(init[0])).toContain('"transformer_quantization":"fp8"');
    expect(records.filter((r) => r.event === "load").map((r) => r.model_type)).toEqual(["t2v", "i2v"]);
    const i2v = records.find((r) => r.event === "submit" && r.params?.model_type === "i2v");
    expect(String(i2v?.params?.image_start)).toMatch(/start-image\.png$/);
    await expect(readFile(path.join(wangpRoot, ".wgp-farm-prefetch.lock"))).rejects.toThrow();
  });

  it("runs one prefetch at a time on a checkout: a second one waits for the host lock", async () => {
    // The test holds the lock itself until both prefetches have said they wait, so neither can
    // start (or finish) before the other has met the lock, however slowly processes start.
    const lock = await HostLock.acquire(path.join(wangpRoot, ".wgp-farm-prefetch.lock"), {
      purpose: "prefetch test",
    });
    const env = { FAKE_WANGP_LOAD_S: "0.5" };
    const both = [0, 1].map(() => startPrefetch(["--models", "t2v", "--gpu", "1"], env));
    try {
      const waiting = `waiting for the prefetch lock held by pid ${process.pid}`;
      await waitUntil(() => both.every((run) => run.stderr().includes(waiting)), 30_000);
    } finally {
      await lock.release();
    }
    expect(await Promise.all(both.map((run) => exitOf(run.child)))).toEqual([0, 0]);
    const loads = (await recorded())
      .filter((r) => r.event === "load")
      .map((r) => ({ start: r.t - (r.seconds ?? 0), end: r.t }))
      .sort((a, b) => a.start - b.start);
    expect(loads).toHaveLength(2);
    expect(loads[1]?.start).toBeGreaterThanOrEqual(loads[0]?.end ?? Number.POSITIVE_INFINITY);
    expect((await recorded()).find((r) => r.event === "init")?.cuda_visible_devices).toBe("1");
  });

  it("loads an available model with --force, and fails on an unknown model type", async () => {
    const forced = await prefetch(["--models", "vace_14B", "--force"]);
    expect(resultsOf(forced.stdout)[0]).toMatchObject({ outcome: "loaded", before: "available" });

    const unknown = await prefetch(["--models", "t2v_nonexistent"]);
    expect(unknown.code).toBe(1);
    expect(resultsOf(unknown.stdout)[0]).toMatchObject({ outcome: "failed" });
    expect(resultsOf(unknown.stdout)[0]?.message).toContain("t2v_nonexistent");
  });

  it("says so when WanGP cannot start, and when no model is named", async () => {
    const broken = await prefetch(["--models", "t2v"], { FAKE_WANGP_INIT_FAULT: "mmgp" });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain("WanGP did not start");

    const none = await prefetch([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("--models");
  });
});
