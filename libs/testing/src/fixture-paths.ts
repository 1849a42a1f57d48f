import { cp } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** The WanGP test double: a folder shaped like a WanGP checkout, not WanGP (test/fixtures/fake-wangp). */
export const FAKE_WANGP_ROOT = path.join(REPO_ROOT, "test", "fixtures", "fake-wangp");
/** The nvidia-smi test double (test/fixtures/fake-nvidia-smi). */
export const FAKE_NVIDIA_SMI = path.join(REPO_ROOT, "test", "fixtures", "fake-nvidia-smi", "nvidia-smi");
/** The real `wgp-farm` binary, running the built CLI. */
export const WGP_FARM_BIN = path.join(REPO_ROOT, "apps", "cli", "bin", "wgp-farm");
/** The example task list of the repository (the old headless.py format). */
export const EXAMPLE_TASKS = path.join(REPO_ROOT, "examples", "tasks.json");

/** A copy of the WanGP double that a test may change (add LoRAs, configs) without touching the fixture. */
export async function copyOfFakeWangp(into: string): Promise<string> {
  const root = path.join(into, "wangp");
  await cp(FAKE_WANGP_ROOT, root, { recursive: true, filter: (source) => !source.includes("__pycache__") });
  return root;
}
