import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createLogger } from "@wgp-farm/config";
import { afterEach } from "vitest";
import {
  EngineProcess,
  type EngineProcessOptions,
  EngineSupervisor,
  type EngineSupervisorOptions,
} from "../src/index.js";

/** The WanGP test double (test/fixtures/fake-wangp): a fixture shaped like WanGP, not WanGP. */
export const FAKE_WANGP = fileURLToPath(new URL("../../../test/fixtures/fake-wangp", import.meta.url));

export const silent = createLogger({ name: "engine-test", level: "silent" });

const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "wgp-engine-test-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Options for the real engine-py with the wangp adapter on the WanGP test double. */
export async function fakeWangpOptions(
  overrides: Partial<EngineProcessOptions> = {},
): Promise<EngineProcessOptions> {
  const dir = await tempDir();
  return {
    adapter: "wangp",
    wangpRoot: FAKE_WANGP,
    configDir: path.join(dir, "gpu0"),
    logger: silent,
    ...overrides,
    env: { PYTHONDONTWRITEBYTECODE: "1", ...overrides.env },
  };
}

export function track<T extends EngineProcess | EngineSupervisor>(engine: T): T {
  cleanups.push(() => engine.shutdown().catch(() => undefined));
  return engine;
}

export async function startedEngine(overrides: Partial<EngineProcessOptions> = {}): Promise<EngineProcess> {
  const engine = track(new EngineProcess(await fakeWangpOptions(overrides)));
  await engine.start();
  return engine;
}

export async function supervisor(
  overrides: Partial<EngineSupervisorOptions> = {},
): Promise<EngineSupervisor> {
  return track(new EngineSupervisor({ ...(await fakeWangpOptions(overrides)), ...overrides }));
}

export function t2v(
  prompt = "a lighthouse in a storm",
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { model_type: "t2v", prompt, num_inference_steps: 4, ...extra };
}

let jobCounter = 0;

export async function jobRequest(settings: Record<string, unknown> = t2v()) {
  jobCounter += 1;
  return {
    id: `job-${jobCounter}`,
    settings,
    outputDir: path.join(await tempDir(), "staging"),
    outputName: "output",
  };
}
