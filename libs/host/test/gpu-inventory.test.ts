import { temporaryDir } from "@wgp-farm/testing";
import { afterEach, describe, expect, it } from "vitest";
import { GpuQueryError, listGpus, parseGpuQuery } from "../src/index.js";
import { FAKE_NVIDIA_SMI } from "./fixtures.js";

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe("GPU inventory", () => {
  it("parses nvidia-smi's CSV, names with commas included", () => {
    const gpus = parseGpuQuery(
      "0, NVIDIA H100 80GB HBM3, 81559, GPU-6f1c\n1, Tesla V100-SXM2, 32GB, 32768, GPU-77aa\n\n",
    );
    expect(gpus).toEqual([
      { index: 0, name: "NVIDIA H100 80GB HBM3", memoryTotalMiB: 81559, uuid: "GPU-6f1c" },
      { index: 1, name: "Tesla V100-SXM2, 32GB", memoryTotalMiB: 32768, uuid: "GPU-77aa" },
    ]);
  });

  it("lists the GPUs an nvidia-smi reports", async () => {
    process.env.FAKE_NVIDIA_SMI_GPUS = "NVIDIA A100-SXM4-40GB:40960;NVIDIA A100-SXM4-40GB:40960;X:8192";
    const gpus = await listGpus({ nvidiaSmi: FAKE_NVIDIA_SMI });
    expect(gpus.map((gpu) => [gpu.index, gpu.name, gpu.memoryTotalMiB])).toEqual([
      [0, "NVIDIA A100-SXM4-40GB", 40960],
      [1, "NVIDIA A100-SXM4-40GB", 40960],
      [2, "X", 8192],
    ]);
  });

  it("tells a machine without the driver from a driver that does not answer", async () => {
    const empty = await temporaryDir("no-nvidia-smi");
    try {
      const missing = await listGpus({ nvidiaSmi: `${empty.dir}/nvidia-smi` }).catch((error) => error);
      expect(missing).toBeInstanceOf(GpuQueryError);
      expect(missing.missing).toBe(true);
    } finally {
      await empty.remove();
    }
    process.env.FAKE_NVIDIA_SMI_FAIL = "driver";
    const broken = await listGpus({ nvidiaSmi: FAKE_NVIDIA_SMI }).catch((error) => error);
    expect(broken).toBeInstanceOf(GpuQueryError);
    expect(broken.missing).toBe(false);
    expect(broken.message).toContain("couldn't communicate with the NVIDIA driver");
  });
});
