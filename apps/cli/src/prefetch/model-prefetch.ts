import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Logger } from "@wgp-farm/config";
import {
  type DescribedMessage,
  EngineJobError,
  EngineProcess,
  type EngineProcessOptions,
  type WgpOptionName,
} from "@wgp-farm/engine";
import { HostLock, type LockHolder } from "@wgp-farm/host";
import { blackPng } from "./placeholder-image.js";

export interface PrefetchOptions {
  wangpRoot: string;
  models: readonly string[];
  python: string;
  enginePyDir?: string;
  /** Physical GPU index for CUDA_VISIBLE_DEVICES (WanGP needs a GPU to start). */
  gpu?: number;
  wgpOptions?: Partial<Record<WgpOptionName, string>>;
  wangpArgs?: readonly string[];
  /** One prefetch at a time per WanGP checkout (see DEFAULT_LOCK_NAME). */
  lockFile: string;
  /** Load models that WanGP already reports available, too. */
  force?: boolean;
  /** How long one model's download and load may take. */
  loadTimeoutMs: number;
  logger: Logger;
  onLockWait?: (holder: LockHolder | undefined) => void;
}

export type PrefetchOutcome = "present" | "loaded" | "failed";

export interface ModelPrefetchResult {
  model_type: string;
  outcome: PrefetchOutcome;
  /** WanGP's availability (`available`, `partial`, `missing`) before and after; null when unknown. */
  before: string | null;
  after: string | null;
  seconds: number;
  message?: string;
}

/** The lock file, inside the checkout whose ckpts/ the downloads go to. */
export const DEFAULT_LOCK_NAME = ".wgp-farm-prefetch.lock";

const availabilityOf = (described: DescribedMessage) =>
  typeof described.availability?.status === "string" ? described.availability.status : null;

/** With --test, WanGP loads the model (downloading what is missing) and reports success without a file. */
function isTestModeSkip(error: EngineJobError): boolean {
  return error.kind === "engine" && /test mode/i.test(error.message);
}

/** The least a task needs to pass WanGP's validation for this model, so that the load can happen. */
async function minimalSettings(
  described: DescribedMessage,
  workDir: string,
): Promise<Record<string, unknown>> {
  const settings: Record<string, unknown> = { model_type: described.model_type, prompt: "wgp-farm prefetch" };
  const imageFlags = described.defaults.image_prompt_type;
  if (typeof imageFlags === "string" && imageFlags.includes("S")) {
    const image = path.join(workDir, "start-image.png");
    await writeFile(image, blackPng(832, 480));
    settings.image_start = image;
  }
  return settings;
}

/**
 * Downloads and loads each model once with WanGP's --test mode (it loads the model and skips the
 * generation), one model at a time, in one engine process, holding a lock on the checkout so that
 * several prefetches (one per slot, or per container) never download the same weights at once.
 */
export class ModelPrefetcher {
  #engine: EngineProcess | undefined;

  constructor(private readonly options: PrefetchOptions) {}

  async run(): Promise<ModelPrefetchResult[]> {
    const { options } = this;
    const lock = await HostLock.acquire(options.lockFile, {
      purpose: `model prefetch (${options.models.join(", ")})`,
      ...(options.onLockWait ? { onWait: options.onLockWait } : {}),
    });
    const workDir = await mkdtemp(path.join(os.tmpdir(), "wgp-farm-prefetch-"));
    try {
      const results: ModelPrefetchResult[] = [];
      for (const model of options.models) results.push(await this.#prefetch(model, workDir));
      return results;
    } finally {
      await this.#engine?.shutdown();
      await rm(workDir, { recursive: true, force: true });
      await lock.release();
    }
  }

  async #startedEngine(workDir: string): Promise<EngineProcess> {
    if (this.#engine && this.#engine.state !== "lost" && this.#engine.state !== "exited") return this.#engine;
    const { options } = this;
    const engineOptions: EngineProcessOptions = {
      adapter: "wangp",
      wangpRoot: options.wangpRoot,
      configDir: path.join(workDir, "config"),
      python: options.python,
      wangpArgs: [...(options.wangpArgs ?? []), "--test"],
      hangTimeoutMs: options.loadTimeoutMs,
      logger: options.logger,
      ...(options.enginePyDir ? { enginePyDir: options.enginePyDir } : {}),
      ...(options.gpu !== undefined ? { gpu: options.gpu } : {}),
      ...(options.wgpOptions ? { wgpOptions: options.wgpOptions } : {}),
    };
    this.#engine = new EngineProcess(engineOptions);
    await this.#engine.start();
    return this.#engine;
  }

  async #prefetch(model: string, workDir: string): Promise<ModelPrefetchResult> {
    const started = Date.now();
    const result = (
      outcome: PrefetchOutcome,
      before: string | null,
      after: string | null,
      message?: string,
    ) => ({
      model_type: model,
      outcome,
      before,
      after,
      seconds: Math.round((Date.now() - started) / 100) / 10,
      ...(message ? { message } : {}),
    });
    const engine = await this.#startedEngine(workDir);
    let described: DescribedMessage;
    try {
      described = await engine.describe(model);
    } catch (error) {
      return result("failed", null, null, (error as Error).message);
    }
    const before = availabilityOf(described);
    if (before === "available" && !this.options.force) return result("present", before, before);

    const log = this.options.logger;
    let loaded = false;
    const outputDir = path.join(workDir, "out", model);
    await mkdir(outputDir, { recursive: true });
    try {
      await engine.generate(
        {
          id: `prefetch-${model}`,
          settings: await minimalSettings(described, workDir),
          outputDir,
          outputName: "prefetch",
        },
        {
          onStatus: (status) => {
            log.info({ model }, status.text);
            if (/^model loaded/i.test(status.text)) loaded = true;
          },
          onLog: (line) => log.debug({ model }, line.line),
        },
      );
      loaded = true;
    } catch (error) {
      if (!(error instanceof EngineJobError)) throw error;
      if (!loaded && !isTestModeSkip(error)) return result("failed", before, null, error.message);
      if (error.engineLost) return result("loaded", before, null, "the engine stopped after the load");
    }
    const after = availabilityOf(await engine.describe(model));
    const incomplete = after !== null && after !== "available";
    return result("loaded", before, after, incomplete ? `WanGP still reports the model ${after}` : undefined);
  }
}
