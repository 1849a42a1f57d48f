import { fileURLToPath } from "node:url";

/** The nvidia-smi test double (test/fixtures/fake-nvidia-smi). */
export const FAKE_NVIDIA_SMI = fileURLToPath(
  new URL("../../../test/fixtures/fake-nvidia-smi/nvidia-smi", import.meta.url),
);
