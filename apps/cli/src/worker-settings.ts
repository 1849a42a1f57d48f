import { EngineStartError } from "@wgp-farm/engine";
import { DEFAULT_PREFIX, DEFAULT_REDIS_URL } from "@wgp-farm/queue";
import {
  type FarmWorkerHandle,
  type FarmWorkerOptions,
  GpuDetectionError,
  startFarmWorker,
  WORKER_DEFAULTS,
  WorkerConfigError,
} from "@wgp-farm/worker";
import { z } from "zod";
import type { CliOption } from "./cli-options.js";
import { CliError } from "./exit-codes.js";
import { WGP_CLI_OPTIONS, WGP_SETTINGS_FIELDS, wgpOptionsOf } from "./wgp-options.js";

const seconds = z.coerce.number().positive();
const count = z.coerce.number().int().min(0);

/** `--gpus`: `auto` (what nvidia-smi lists) or GPU indices such as `0,1`. */
export const GpuListSetting = z.string().transform((value, ctx) => {
  if (value.trim() === "auto") return "auto" as const;
  const indices = value.split(",").map((part) => Number(part.trim()));
  if (indices.some((index) => !Number.isInteger(index) || index < 0)) {
    ctx.addIssue({ code: "custom", message: "must be 'auto' or GPU indices such as 0,1" });
    return z.NEVER;
  }
  return indices;
});

/** Settings of a GPU worker (`worker`, and the worker inside `headless` and `demo`). */
export const WorkerSettings = z.object({
  redisUrl: z.string().default(DEFAULT_REDIS_URL),
  prefix: z.string().min(1).default(DEFAULT_PREFIX),
  wangpRoot: z.string().optional(),
  mainOutputDir: z.string({ error: "--main-output-dir (or WGP_FARM_MAIN_OUTPUT_DIR) is required" }).min(1),
  gpus: GpuListSetting.default("auto"),
  slots: z.coerce.number().int().min(1).optional(),
  engine: z.enum(["wangp", "dry-run"]).default(WORKER_DEFAULTS.engine),
  python: z.string().optional(),
  name: z.string().min(1).optional(),
  stateDir: z.string().optional(),
  drainTimeout: seconds.default(WORKER_DEFAULTS.drainTimeoutMs / 1000),
  hangTimeout: seconds.default(WORKER_DEFAULTS.hangTimeoutMs / 1000),
  lockDurationMs: z.coerce.number().int().min(1000).default(WORKER_DEFAULTS.lockDurationMs),
  stalledIntervalMs: z.coerce.number().int().min(500).default(WORKER_DEFAULTS.stalledIntervalMs),
  quarantineAfter: z.coerce.number().int().min(1).default(WORKER_DEFAULTS.quarantineAfter),
  maxWait: seconds.default(WORKER_DEFAULTS.maxWaitMs / 1000),
  switchBacklog: z.coerce.number().int().min(1).default(WORKER_DEFAULTS.switchBacklogPerSlot),
  causvidUrl: z.url().default(WORKER_DEFAULTS.causvidUrl),
  causvidSha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex digits")
    .optional(),
  recycleAfterJobs: count.default(WORKER_DEFAULTS.recycleAfterJobs),
  recycleRssMb: count.default(WORKER_DEFAULTS.recycleRssMb),
  dryRunDuration: z.coerce.number().min(0).optional(),
  wangpArg: z.array(z.string()).default([]),
  ...WGP_SETTINGS_FIELDS,
});
export type WorkerSettings = z.output<typeof WorkerSettings>;

/** The worker options the settings give, Redis aside (the caller knows which Redis). */
export function workerOptionsOf(
  settings: Omit<WorkerSettings, "redisUrl" | "prefix">,
): Omit<FarmWorkerOptions, "redisUrl" | "prefix"> {
  return {
    mainOutputDir: settings.mainOutputDir,
    wangpRoot: settings.wangpRoot,
    engine: settings.engine,
    gpus: settings.gpus,
    slots: settings.slots,
    name: settings.name,
    python: settings.python,
    stateDir: settings.stateDir,
    wgpOptions: wgpOptionsOf(settings),
    wangpArgs: settings.wangpArg,
    dryRunDurationS: settings.dryRunDuration,
    drainTimeoutMs: settings.drainTimeout * 1000,
    hangTimeoutMs: settings.hangTimeout * 1000,
    lockDurationMs: settings.lockDurationMs,
    stalledIntervalMs: settings.stalledIntervalMs,
    quarantineAfter: settings.quarantineAfter,
    maxWaitMs: settings.maxWait * 1000,
    switchBacklogPerSlot: settings.switchBacklog,
    causvidUrl: settings.causvidUrl,
    causvidSha256: settings.causvidSha256,
    recycleAfterJobs: settings.recycleAfterJobs,
    recycleRssMb: settings.recycleRssMb,
  };
}

/** The worker's options (without Redis's), each with its env var and default, for --help. */
export const WORKER_OPTIONS: readonly CliOption[] = [
  {
    flags: "--wangp-root <dir>",
    description: "the WanGP checkout (wangp engine)",
    env: "WGP_FARM_WANGP_ROOT",
  },
  {
    flags: "--main-output-dir <dir>",
    description: "root of every task's output folder",
    env: "WGP_FARM_MAIN_OUTPUT_DIR",
  },
  {
    flags: "--gpus <list>",
    description: "'auto' (the GPUs nvidia-smi lists) or GPU indices such as 0,1",
    env: "WGP_FARM_GPUS",
    defaultText: "auto",
  },
  {
    flags: "--slots <n>",
    description: "number of slots; without GPUs, this many slots on virtual GPU indices (dry-run, tests)",
    env: "WGP_FARM_SLOTS",
    defaultText: "one per GPU",
  },
  {
    flags: "--engine <kind>",
    description: "wangp, or dry-run (no WanGP: writes the settings it would send)",
    env: "WGP_FARM_ENGINE",
    defaultText: WORKER_DEFAULTS.engine,
    choices: ["wangp", "dry-run"],
  },
  {
    flags: "--python <path>",
    description: "the Python that runs WanGP (its virtualenv's)",
    env: "WGP_FARM_PYTHON",
    defaultText: "python3",
  },
  {
    flags: "--name <name>",
    description: "host part of the worker's identity (slots are gpu<N>@<name>)",
    env: "WGP_FARM_WORKER_NAME",
    defaultText: "the host name",
  },
  {
    flags: "--state-dir <dir>",
    description: "per-GPU engine state (wgp_config.json, scratch files)",
    env: "WGP_FARM_STATE_DIR",
    defaultText: "<main-output-dir>/.wgp-farm-state",
  },
  {
    flags: "--drain-timeout <s>",
    description: "on SIGTERM/SIGINT, how long running jobs may finish before they go back to their queue",
    env: "WGP_FARM_DRAIN_TIMEOUT",
    defaultText: String(WORKER_DEFAULTS.drainTimeoutMs / 1000),
  },
  {
    flags: "--hang-timeout <s>",
    description: "a job without progress for this long is hung: the engine is restarted, the job retried",
    env: "WGP_FARM_HANG_TIMEOUT",
    defaultText: String(WORKER_DEFAULTS.hangTimeoutMs / 1000),
  },
  {
    flags: "--lock-duration-ms <ms>",
    description:
      "job lock, renewed every quarter of it; a killed worker's job runs again after about lock + stalled interval",
    env: "WGP_FARM_LOCK_DURATION_MS",
    defaultText: String(WORKER_DEFAULTS.lockDurationMs),
  },
  {
    flags: "--stalled-interval-ms <ms>",
    description: "how often jobs of dead workers are looked for",
    env: "WGP_FARM_STALLED_INTERVAL_MS",
    defaultText: String(WORKER_DEFAULTS.stalledIntervalMs),
  },
  {
    flags: "--quarantine-after <n>",
    description: "stalls + engine crashes after which a task goes to the quarantine queue",
    env: "WGP_FARM_QUARANTINE_AFTER",
    defaultText: String(WORKER_DEFAULTS.quarantineAfter),
  },
  {
    flags: "--max-wait <s>",
    description: "longest a job waits before a slot switches model for it",
    env: "WGP_FARM_MAX_WAIT",
    defaultText: String(WORKER_DEFAULTS.maxWaitMs / 1000),
  },
  {
    flags: "--switch-backlog <n>",
    description: "another slot switches to a model only when more than n of its jobs wait per slot on it",
    env: "WGP_FARM_SWITCH_BACKLOG",
    defaultText: String(WORKER_DEFAULTS.switchBacklogPerSlot),
  },
  {
    flags: "--causvid-url <url>",
    description: "where a missing CausVid LoRA is downloaded from",
    env: "WGP_FARM_CAUSVID_URL",
    defaultText: "Kijai/WanVideo_comfy on huggingface.co",
  },
  {
    flags: "--causvid-sha256 <hex>",
    description: "expected sha256 of the CausVid LoRA",
    env: "WGP_FARM_CAUSVID_SHA256",
    defaultText: "not checked",
  },
  {
    flags: "--recycle-after-jobs <n>",
    description: "restart each engine after n jobs (0: never)",
    env: "WGP_FARM_RECYCLE_AFTER_JOBS",
    defaultText: "0",
  },
  {
    flags: "--recycle-rss-mb <mb>",
    description: "restart an engine whose memory passes this many MiB after a job (0: never)",
    env: "WGP_FARM_RECYCLE_RSS_MB",
    defaultText: "0",
  },
  {
    flags: "--dry-run-duration <s>",
    description: "seconds a dry-run job takes",
    env: "WGP_FARM_DRY_RUN_DURATION",
    defaultText: "0.5",
  },
  ...WGP_CLI_OPTIONS,
  { flags: "--wangp-arg <arg...>", description: "extra WanGP CLI argument (repeatable)" },
];

/** Starts a worker, turning configuration and engine start-up failures into messages for the user. */
export async function startWorkerOrExplain(options: FarmWorkerOptions): Promise<FarmWorkerHandle> {
  try {
    return await startFarmWorker(options);
  } catch (error) {
    if (error instanceof WorkerConfigError || error instanceof GpuDetectionError)
      throw new CliError(error.message);
    if (error instanceof EngineStartError) {
      const tail = error.stderrTail.slice(-10).join("\n  ");
      throw new CliError(`an engine did not start: ${error.message}${tail ? `\n  ${tail}` : ""}`);
    }
    throw error;
  }
}
