import path from "node:path";
import { SlotRegistry } from "@wgp-farm/queue";
import { waitUntil } from "@wgp-farm/testing";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { GpuDetectionError, planSlots } from "../src/index.js";
import {
  FAKE_NVIDIA_SMI,
  importTasks,
  readRecords,
  startWorker,
  t2vTask,
  testFarm,
  WGP_FARM_BIN,
  waitForJob,
} from "./support.js";

const NO_NVIDIA_SMI = "/nonexistent/nvidia-smi";

afterEach(() => {
  delete process.env.FAKE_NVIDIA_SMI_GPUS;
});

describe("slot identity", () => {
  it("has one slot per GPU nvidia-smi reports, named gpu<index>@<host>", async () => {
    process.env.FAKE_NVIDIA_SMI_GPUS =
      "NVIDIA H100 80GB HBM3:81559;NVIDIA H100 80GB HBM3:81559;NVIDIA L40S:46068";
    expect(await planSlots({ gpus: "auto", name: "node7", nvidiaSmi: FAKE_NVIDIA_SMI })).toEqual([
      { slotId: "gpu0@node7", host: "node7", gpuIndex: 0, gpuName: "NVIDIA H100 80GB HBM3" },
      { slotId: "gpu1@node7", host: "node7", gpuIndex: 1, gpuName: "NVIDIA H100 80GB HBM3" },
      { slotId: "gpu2@node7", host: "node7", gpuIndex: 2, gpuName: "NVIDIA L40S" },
    ]);
    expect(
      (await planSlots({ gpus: [2], name: "node7", nvidiaSmi: FAKE_NVIDIA_SMI })).map((s) => s.slotId),
    ).toEqual(["gpu2@node7"]);
    await expect(planSlots({ gpus: [5], name: "node7", nvidiaSmi: FAKE_NVIDIA_SMI })).rejects.toThrow(
      "GPU 5 not found; nvidia-smi reports 0, 1, 2",
    );
  });

  it("keeps ids unique when slots share a GPU, and free of ':'", async () => {
    process.env.FAKE_NVIDIA_SMI_GPUS = "NVIDIA GeForce RTX 4090:24564";
    const slots = await planSlots({ slots: 2, name: "lab:box 1", nvidiaSmi: FAKE_NVIDIA_SMI });
    expect(slots.map((slot) => slot.slotId)).toEqual(["gpu0-0@lab-box-1", "gpu0-1@lab-box-1"]);
  });

  it("runs on virtual GPUs with --slots, and says clearly when there is no GPU and no --slots", async () => {
    expect(
      (await planSlots({ slots: 2, name: "ci", nvidiaSmi: NO_NVIDIA_SMI })).map((s) => [s.slotId, s.gpuName]),
    ).toEqual([
      ["gpu0@ci", null],
      ["gpu1@ci", null],
    ]);
    await expect(planSlots({ gpus: "auto", name: "ci", nvidiaSmi: NO_NVIDIA_SMI })).rejects.toThrow(
      GpuDetectionError,
    );
    const tf = await testFarm("no-gpu");
    const result = await execa(
      WGP_FARM_BIN,
      ["worker", "--engine", "dry-run", "--main-output-dir", tf.outputDir],
      {
        env: {
          ...process.env,
          // The nvidia-smi double, failing as it does without a driver (a real one may be installed here).
          PATH: `${path.dirname(FAKE_NVIDIA_SMI)}:${process.env.PATH ?? ""}`,
          FAKE_NVIDIA_SMI_FAIL: "driver",
          REDIS_URL: tf.redisUrl,
          WGP_FARM_PREFIX: tf.prefix,
        },
        reject: false,
      },
    );
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/no GPU found \(.*NVIDIA driver.*\)\. Give --gpus 0,1,… or --slots N/);
  });

  it("refuses a second live worker with the same slot ids", async () => {
    const tf = await testFarm("same-name");
    await startWorker(tf, { name: "twin" });
    await expect(startWorker(tf, { name: "twin" })).rejects.toThrow(
      /^slot gpu0@twin is already run by pid \d+ .*give this worker another --name$/,
    );
  });
});

describe("slot status", () => {
  it("expires with its TTL, and list prunes the index", async () => {
    const tf = await testFarm("registry");
    // Long enough that the first read after the publish finds it on a loaded machine; the
    // expiry itself is awaited, not slept for.
    const registry = new SlotRegistry(tf.farm.redis, tf.farm.keys, 2_000);
    const worker = await startWorker(tf, { slots: 2 });
    expect((await registry.list()).map((slot) => slot.slot_id)).toEqual(["gpu0@test-host", "gpu1@test-host"]);
    const [status] = worker.statuses();
    expect(status).toMatchObject({
      host: "test-host",
      gpu_index: 0,
      worker_name: "gpu0@test-host",
      pid: process.pid,
    });
    await worker.stop();
    expect(await registry.list()).toEqual([]);
    // A host that dies without removing its status: the key expires and list drops it.
    await registry.publish({ ...(status as NonNullable<typeof status>), slot_id: "gpu0@dead-host" });
    expect((await registry.list()).map((slot) => slot.slot_id)).toEqual(["gpu0@dead-host"]);
    await waitUntil(async () => (await registry.list()).length === 0);
    expect(await tf.farm.redis.zcard(tf.farm.keys.slots)).toBe(0);
  });

  it("recycles the engine after N jobs", async () => {
    const tf = await testFarm("recycle");
    await importTasks(tf, [t2vTask("r-1"), t2vTask("r-2"), t2vTask("r-3")]);
    await startWorker(tf, { recycleAfterJobs: 2 });
    for (const id of ["r-1", "r-2", "r-3"]) await waitForJob(tf, id, "model.t2v");
    const inits = (await readRecords(tf.recordFile)).filter((record) => record.event === "init");
    expect(inits).toHaveLength(2);
  });
});
