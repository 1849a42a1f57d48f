import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "@wgp-farm/config";
import type { EngineChildSpec } from "./engine-child.js";

/** The old headless `--wgp-*` options the bridge maps onto today's WanGP (PROTOCOL.md). */
export type WgpOptionName =
  | "attention-mode"
  | "compile"
  | "profile"
  | "vae-config"
  | "transformer-dtype-policy"
  | "boost"
  | "transformer-quantization"
  | "text-encoder-quantization"
  | "vae-precision"
  | "mixed-precision"
  | "preload-policy";

export interface EngineProcessOptions {
  adapter: "wangp" | "dry-run";
  /** The WanGP checkout (required by `wangp`; optional for `dry-run`, to check model types). */
  wangpRoot?: string;
  /** This GPU's folder for wgp_config.json (required by `wangp`). */
  configDir?: string;
  /** Where WanGP writes before files move to the job's folder (default: configDir/outputs). */
  scratchDir?: string;
  /** Physical GPU index, passed as CUDA_VISIBLE_DEVICES (never as WanGP's --gpu). */
  gpu?: string | number;
  /** Python interpreter, e.g. the WanGP virtualenv's. Default: $WGP_FARM_PYTHON, else `python3`. */
  python?: string;
  /** Folder holding the wgp_bridge package. Default: this repository's engine-py/. */
  enginePyDir?: string;
  wgpOptions?: Partial<Record<WgpOptionName, string>>;
  /** Extra WanGP CLI arguments (`--wangp-arg`), e.g. ["--perc-reserved-mem-max", "0.3"]. */
  wangpArgs?: string[];
  /** Seconds a dry-run job takes. */
  dryRunDurationS?: number;
  /** Further bridge options, e.g. ["--log-lines-per-s", "50"]. */
  extraArgs?: string[];
  /** Added to the inherited environment. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** How long to wait for `ready` (WanGP imports torch and every model handler). */
  readyTimeoutMs?: number;
  /** A running job with no progress or status message for this long is hung: the process is killed. */
  hangTimeoutMs?: number;
  /** After `shutdown`, how long before SIGTERM; after SIGTERM, how long before SIGKILL. */
  shutdownTimeoutMs?: number;
  killTimeoutMs?: number;
  /** Default time limit of describe and ping. */
  requestTimeoutMs?: number;
  /** How many stderr lines to keep for error reports. */
  stderrLines?: number;
  logger?: Logger;
}

export const ENGINE_DEFAULTS = {
  readyTimeoutMs: 10 * 60_000,
  hangTimeoutMs: 15 * 60_000,
  shutdownTimeoutMs: 15_000,
  killTimeoutMs: 5_000,
  requestTimeoutMs: 60_000,
  stderrLines: 200,
} as const;

export type EngineLimits = { -readonly [K in keyof typeof ENGINE_DEFAULTS]: number };

/** The options' time limits and sizes, each defaulted on its own. */
export function engineLimits(options: EngineProcessOptions): EngineLimits {
  const limits: EngineLimits = { ...ENGINE_DEFAULTS };
  for (const key of Object.keys(limits) as (keyof EngineLimits)[]) limits[key] = options[key] ?? limits[key];
  return limits;
}

/** engine-py/ of this repository, from src/ or dist/ alike (both sit two levels below the repo root). */
export function defaultEnginePyDir(): string {
  return fileURLToPath(new URL("../../../engine-py", import.meta.url));
}

/** The Python that runs the engine when neither the options nor $WGP_FARM_PYTHON name one. */
export const DEFAULT_PYTHON = "python3";

export function defaultPython(): string {
  return process.env.WGP_FARM_PYTHON || DEFAULT_PYTHON;
}

export function bridgeArgs(options: EngineProcessOptions): string[] {
  const args = ["-m", "wgp_bridge", "--adapter", options.adapter];
  const add = (flag: string, value: string | number | undefined) => {
    if (value !== undefined) args.push(flag, String(value));
  };
  add("--wangp-root", options.wangpRoot);
  add("--config-dir", options.configDir);
  add("--scratch-dir", options.scratchDir);
  add("--dry-run-duration", options.dryRunDurationS);
  for (const [name, value] of Object.entries(options.wgpOptions ?? {})) add(`--wgp-${name}`, value);
  for (const arg of options.wangpArgs ?? []) args.push(`--wangp-arg=${arg}`);
  args.push(...(options.extraArgs ?? []));
  return args;
}

/** How to spawn engine-py for these options. */
export function bridgeSpawnSpec(options: EngineProcessOptions, logger: Logger): EngineChildSpec {
  return {
    command: options.python ?? defaultPython(),
    args: bridgeArgs(options),
    cwd: options.cwd,
    env: bridgeEnv(options),
    stderrLines: options.stderrLines ?? ENGINE_DEFAULTS.stderrLines,
    logger,
  };
}

export function bridgeEnv(options: EngineProcessOptions): Record<string, string | undefined> {
  const enginePyDir = options.enginePyDir ?? defaultEnginePyDir();
  const inherited = process.env.PYTHONPATH;
  return {
    ...options.env,
    PYTHONPATH: inherited ? `${enginePyDir}${path.delimiter}${inherited}` : enginePyDir,
    PYTHONUNBUFFERED: "1",
    ...(options.gpu !== undefined ? { CUDA_VISIBLE_DEVICES: String(options.gpu) } : {}),
  };
}
