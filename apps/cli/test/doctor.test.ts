import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { findExecutable, mountOf } from "@wgp-farm/host";
import { FarmConnection, RedisServerProcess, SlotRegistry } from "@wgp-farm/queue";
import { temporaryDir, testSlotStatus, uniquePrefix } from "@wgp-farm/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { CheckResult, DoctorReport } from "../src/doctor/check-result.js";
import { runCli } from "./run-cli.js";

const FIXTURES = fileURLToPath(new URL("../../../test/fixtures/", import.meta.url));
const FAKE_WANGP = path.join(FIXTURES, "fake-wangp");
const FAKE_NVIDIA_SMI_DIR = path.join(FIXTURES, "fake-nvidia-smi");
const SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin";

let work: { dir: string; remove: () => Promise<void> };
let wangpRoot: string;
let python: string;

beforeAll(async () => {
  work = await temporaryDir("doctor");
  // A copy, so that the doctor's advice (settings/) can be followed without touching the fixture.
  wangpRoot = path.join(work.dir, "wangp");
  await cp(FAKE_WANGP, wangpRoot, { recursive: true, filter: (src) => !src.includes("__pycache__") });
  await mkdir(path.join(wangpRoot, "settings"));
  const found = await findExecutable("python3");
  if (!found) throw new Error("python3 is needed by these tests (engine-py runs on it)");
  python = found;
});
afterAll(async () => {
  await work.remove();
});

interface DoctorRun {
  code: number | null;
  report: DoctorReport;
  status: (id: string) => CheckResult["status"] | undefined;
  check: (id: string) => CheckResult | undefined;
}

async function doctor(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; redisUrl?: string; prefix?: string; gpus?: string } = {},
): Promise<DoctorRun> {
  const result = await runCli(
    [
      "doctor",
      "--json",
      "--redis-url",
      options.redisUrl ?? inject("redisUrl"),
      "--prefix",
      options.prefix ?? uniquePrefix("doctor"),
      "--python",
      python,
      ...args,
    ],
    {
      env: {
        PATH: `${FAKE_NVIDIA_SMI_DIR}:${process.env.PATH}`,
        FAKE_NVIDIA_SMI_GPUS: options.gpus ?? "NVIDIA GeForce RTX 4090:24564",
        ...options.env,
      },
    },
  );
  if (!result.stdout.trim()) throw new Error(`doctor printed nothing: ${result.stderr}`);
  const report = JSON.parse(result.stdout) as DoctorReport;
  const check = (id: string) => report.checks.find((c) => c.id === id);
  return { code: result.code, report, status: (id) => check(id)?.status, check };
}

describe("wgp-farm doctor", () => {
  it("passes a worker host on the WanGP test double, warning that the test Redis has AOF off", async () => {
    const output = path.join(work.dir, "out-healthy");
    await mkdir(output);
    const run = await doctor(["--wangp-root", wangpRoot, "--main-output-dir", output]);
    expect(run.code).toBe(0);
    expect(run.report.ok).toBe(true);
    expect(run.status("redis-reachable")).toBe("ok");
    expect(run.status("redis-persistence")).toBe("warn");
    expect(run.check("redis-persistence")?.fix).toContain("appendonly yes");
    expect(run.status("redis-eviction")).toBe("ok");
    expect(run.check("wangp-version")?.summary).toContain("12.60+fake-wangp");
    expect(run.status("wangp-settings-folder")).toBeUndefined();
    expect(run.status("python")).toBe("ok");
    expect(run.status("wangp-import")).toBe("ok");
    expect(run.status("engine-bridge")).toBe("ok");
    expect(run.check("gpus")?.summary).toContain("1 GPU: 0 NVIDIA GeForce RTX 4090 24 GiB");
    expect(run.status("lora-folder")).toBe("ok");
    expect(run.status("output-folder")).toBe("ok");
    expect(run.status("output-shared")).toBe("ok");
    expect(run.report.checks.filter((c) => c.status === "fail")).toEqual([]);
    for (const c of run.report.checks.filter((c) => c.status === "warn")) expect(c.fix).toBeTruthy();
  });

  it("passes the AOF check on a Redis configured as infra/redis/redis.conf says", async () => {
    const data = await temporaryDir("doctor-aof");
    const server = await RedisServerProcess.start({ dataDir: data.dir, persistence: "aof" });
    try {
      const run = await doctor(["--engine", "dry-run"], { redisUrl: server.url });
      expect(run.status("redis-persistence")).toBe("ok");
      expect(run.check("redis-persistence")?.summary).toBe("AOF on");
    } finally {
      await server.stop();
      await data.remove();
    }
  });

  it("fails when Redis does not answer, and says how to fix it", async () => {
    const run = await doctor(["--engine", "dry-run"], { redisUrl: "redis://127.0.0.1:1" });
    expect(run.code).toBe(1);
    expect(run.status("redis-reachable")).toBe("fail");
    expect(run.check("redis-reachable")?.fix).toContain("REDIS_URL");
  });

  it("fails a wangp worker without GPUs, and only warns for dry-run", async () => {
    const noGpu = { PATH: SYSTEM_PATH };
    if (await findExecutable("nvidia-smi", SYSTEM_PATH)) return; // a real GPU machine: nothing to simulate
    const wangp = await doctor(["--wangp-root", wangpRoot], { env: noGpu });
    expect(wangp.code).toBe(1);
    expect(wangp.status("gpus")).toBe("fail");
    expect(wangp.check("gpus")?.fix).toContain("--engine dry-run");
    const dryRun = await doctor(["--engine", "dry-run"], { env: noGpu });
    expect(dryRun.status("gpus")).toBe("warn");
    expect(dryRun.status("wangp-checkout")).toBe("skip");
    expect(dryRun.code).toBe(0);
  });

  it("fails on GPUs the host does not have, and warns about RAM per GPU", async () => {
    const run = await doctor(["--engine", "dry-run", "--gpus", "0,3"], {
      gpus: "NVIDIA H100 80GB HBM3:81559;NVIDIA H100 80GB HBM3:81559",
    });
    expect(run.status("gpus")).toBe("fail");
    expect(run.check("gpus")?.summary).toContain("GPU 3 not found");

    const many = Array.from({ length: 64 }, () => "NVIDIA H100 80GB HBM3:81559").join(";");
    const crowded = await doctor(["--engine", "dry-run"], { gpus: many });
    expect(crowded.status("gpus")).toBe("ok");
    expect(crowded.status("host-ram")).toBe("warn");
    expect(crowded.check("host-ram")?.summary).toContain("for 64 GPUs");
  });

  it("fails on a folder that is not a WanGP checkout and on a Python that cannot import WanGP", async () => {
    const notWangp = await doctor(["--wangp-root", work.dir]);
    expect(notWangp.status("wangp-checkout")).toBe("fail");
    expect(notWangp.check("wangp-checkout")?.fix).toContain("v10.981");

    const broken = path.join(work.dir, "broken-wangp");
    await cp(wangpRoot, broken, { recursive: true });
    await writeFile(
      path.join(broken, "shared", "api.py"),
      "raise ImportError(\"No module named 'torch'\")\n",
    );
    const run = await doctor(["--wangp-root", broken]);
    expect(run.code).toBe(1);
    expect(run.status("wangp-import")).toBe("fail");
    expect(run.check("wangp-import")?.summary).toContain("No module named 'torch'");

    const noPython = await doctor(["--wangp-root", wangpRoot, "--python", path.join(work.dir, "no-python")]);
    expect(noPython.status("python")).toBe("fail");
    expect(noPython.check("python")?.fix).toContain("WGP_FARM_PYTHON");
  });

  it("fails on an output folder it cannot write", async () => {
    const file = path.join(work.dir, "a-file");
    await writeFile(file, "not a folder\n");
    const run = await doctor(["--engine", "dry-run", "--main-output-dir", path.join(file, "out")]);
    expect(run.code).toBe(1);
    expect(run.status("output-folder")).toBe("fail");
  });

  it("proves the output folder shared between hosts, and catches a host that writes elsewhere", async () => {
    const prefix = uniquePrefix("farm");
    const shared = path.join(work.dir, "shared-out");
    const elsewhere = path.join(work.dir, "gamma-local-out");
    await mkdir(shared);
    await mkdir(elsewhere);
    const on = (host: string, dir: string, extra: string[] = []) =>
      doctor(["--engine", "dry-run", "--name", host, "--main-output-dir", dir, ...extra], { prefix });

    const alpha = await on("alpha", shared);
    expect(alpha.check("output-shared")?.summary).toContain("the only host seen so far");
    const beta = await on("beta", shared);
    expect(beta.status("output-shared")).toBe("ok");
    expect(beta.check("output-shared")?.summary).toContain("shared with alpha");
    const marker = JSON.parse(await readFile(path.join(shared, ".wgp-farm", "hosts", "beta.json"), "utf8"));
    expect(marker.host).toBe("beta");

    const gamma = await on("gamma", elsewhere);
    expect(gamma.code).toBe(1);
    expect(gamma.status("output-shared")).toBe("fail");
    expect(gamma.check("output-shared")?.summary).toContain("not shared with alpha, beta");
    expect(gamma.check("output-shared")?.fix).toContain("--forget-host");

    const forgotten = await on("gamma", elsewhere, ["--forget-host", "alpha", "beta"]);
    expect(forgotten.status("output-shared")).toBe("ok");
  });

  it("fails a local output folder while workers run on another host", async () => {
    const prefix = uniquePrefix("slots");
    const farm = await FarmConnection.open(inject("redisUrl"), prefix);
    const output = path.join(work.dir, "out-local");
    await mkdir(output);
    try {
      await new SlotRegistry(farm.redis, farm.keys, 60_000).publish(
        testSlotStatus("gpu0@remote-gpu", { host: "remote-gpu", gpu_name: "NVIDIA H100 80GB HBM3", pid: 1 }),
      );
      const run = await doctor(["--engine", "dry-run", "--name", "here", "--main-output-dir", output], {
        prefix,
      });
      const network = (await mountOf(output))?.network;
      expect(run.status("output-shared")).toBe(network ? "warn" : "fail");
      expect(run.check("output-shared")?.summary).toContain("remote-gpu");
    } finally {
      await farm.close();
    }
  });

  it("warns when hosts run different WanGP versions", async () => {
    const prefix = uniquePrefix("pin");
    const older = path.join(work.dir, "wangp-older");
    await cp(wangpRoot, older, { recursive: true });
    const wgp = path.join(older, "wgp.py");
    await writeFile(wgp, (await readFile(wgp, "utf8")).replace('"12.60+fake-wangp"', '"12.59+fake-wangp"'));
    await doctor(["--name", "old-host", "--wangp-root", older], { prefix });
    const run = await doctor(["--name", "new-host", "--wangp-root", wangpRoot], { prefix });
    expect(run.status("wangp-pin")).toBe("warn");
    expect(run.check("wangp-pin")?.summary).toContain("old-host runs 12.59+fake-wangp");
  });

  it("says which mmgp to install when the checkout pins another one than the Python has", async () => {
    const pinned = path.join(work.dir, "wangp-mmgp-pin");
    await cp(wangpRoot, pinned, { recursive: true });
    const wgp = path.join(pinned, "wgp.py");
    const source = await readFile(wgp, "utf8");
    await writeFile(wgp, source.replace(/^target_mmgp_version = .*$/m, 'target_mmgp_version = "3.8.2"'));
    // An installed mmgp 3.7.14, as pip records it in site-packages.
    const site = path.join(work.dir, "site-mmgp");
    await mkdir(path.join(site, "mmgp-3.7.14.dist-info"), { recursive: true });
    await writeFile(
      path.join(site, "mmgp-3.7.14.dist-info", "METADATA"),
      "Metadata-Version: 2.1\nName: mmgp\nVersion: 3.7.14\n",
    );
    const run = await doctor(["--wangp-root", pinned], { env: { PYTHONPATH: site } });
    expect(run.code).toBe(1);
    expect(run.status("preflight-mmgp")).toBe("fail");
    expect(run.check("preflight-mmgp")?.fix).toContain("pip install mmgp==3.8.2");
    expect(run.check("preflight-mmgp")?.details).toEqual({ required: "3.8.2", installed: "3.7.14" });
    expect(run.status("preflight-root-config")).toBe("ok");

    const healthy = await doctor(["--wangp-root", wangpRoot]);
    expect(healthy.status("preflight-mmgp")).toBeUndefined(); // the double pins no mmgp: skipped
    expect(healthy.status("preflight-root-config")).toBe("ok");
  });

  it("prints a report a person can read, with the fix under each problem", async () => {
    const result = await runCli(["doctor", "--engine", "dry-run", "--redis-url", "redis://127.0.0.1:1"], {
      env: { PATH: `${FAKE_NVIDIA_SMI_DIR}:${process.env.PATH}` },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^Redis$/m);
    expect(result.stdout).toMatch(/FAIL\s+redis-reachable/);
    expect(result.stdout).toContain("fix: start Redis");
    expect(result.stdout).toContain("this host cannot do its work until the failures are fixed");
  });
});
