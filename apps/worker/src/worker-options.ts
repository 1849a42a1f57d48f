import path from "node:path";
import {
  choiceOption,
  defaultsOf,
  type Logger,
  listOption,
  option,
  SECONDS,
  type Unit,
  UserError,
} from "@wgp-farm/config";
import { DEFAULT_PYTHON, ENGINE_DEFAULTS, type WgpOptionName } from "@wgp-farm/engine";
import { DEFAULT_PREFIX } from "@wgp-farm/queue";
import { OUTPUT_STORE_OPTION, STORAGE_OPTION_SET } from "@wgp-farm/storage";
import { CAUSVID_PRESET, RESERVED_OUTPUT_PREFIX } from "@wgp-farm/tasks";
import { z } from "zod";

/** `affinity`: the farm's scheduler. `fifo`: the oldest job anywhere, whatever model is loaded (benchmark baseline). */
export type SchedulingPolicyName = "affinity" | "fifo";

export interface FarmWorkerOptions {
  redisUrl: string;
  /** Key prefix of every queue and key (default `wgp`). */
  prefix?: string;
  /** Root of every task's output folder (with an --output-store bucket: the local staging of uploads). */
  mainOutputDir: string;
  /** `s3://bucket/prefix`: results go to this bucket (settings: the s3* options); absent: mainOutputDir. */
  outputStore?: string;
  s3Endpoint?: string;
  s3Region?: string;
  s3PathStyle?: boolean;
  s3Profile?: string;
  s3PartSize?: number;
  s3LinkTtlMs?: number;
  /** The WanGP checkout (required by the `wangp` engine). */
  wangpRoot?: string;
  /** `wangp`: the real engine. `dry-run`: engine-py without WanGP, writing the settings it would send. */
  engine?: "wangp" | "dry-run";
  /** `auto`: the GPUs nvidia-smi reports; or explicit indices. */
  gpus?: "auto" | number[];
  /** Number of slots (default: one per GPU). Without GPUs, this many slots on virtual indices 0…N-1. */
  slots?: number;
  /** The host part of the worker's identity (default: the host name). */
  name?: string;
  /** Python interpreter of the WanGP virtualenv (default $WGP_FARM_PYTHON, else the engine's DEFAULT_PYTHON). */
  python?: string;
  /** Per-slot engine state (wgp_config.json, scratch files). Default: `<main-output-dir>/.wgp-farm-state`. */
  stateDir?: string;
  wgpOptions?: Partial<Record<WgpOptionName, string>>;
  /** Extra WanGP CLI arguments. */
  wangpArgs?: string[];
  /** Added to each engine's environment. */
  engineEnv?: Record<string, string>;
  /** Seconds a dry-run job takes. */
  dryRunDurationS?: number;
  /** SIGTERM/SIGINT: how long running jobs may go on before they are returned to their queue. */
  drainTimeoutMs?: number;
  /** A job with no progress for this long is hung: the engine is killed and restarted, the job retried. */
  hangTimeoutMs?: number;
  engineReadyTimeoutMs?: number;
  /** BullMQ lock of a running job; renewed every `lockRenewMs`. A dead worker's job is re-queued after about lock + stalled interval. */
  lockDurationMs?: number;
  lockRenewMs?: number;
  stalledIntervalMs?: number;
  /** A task that stalled or crashed workers this many times goes to the quarantine queue. */
  quarantineAfter?: number;
  /** No job waits longer than this before an idle or busy slot switches to its model. */
  maxWaitMs?: number;
  /** A second slot switches to a model only when more than this many of its jobs wait per slot on it. */
  switchBacklogPerSlot?: number;
  /** An idle slot re-reads the queues at least this often, even without a wake-up. */
  idleRecheckMs?: number;
  schedulingPolicy?: SchedulingPolicyName;
  causvidUrl?: string;
  causvidSha256?: string;
  /** Restart a slot's engine after this many jobs (0: never). */
  recycleAfterJobs?: number;
  /** Restart a slot's engine once its RSS passes this many MiB (0: never). */
  recycleRssMb?: number;
  /** Job log lines kept per attempt. */
  jobLogLines?: number;
  /** TTL of each slot's status in Redis. */
  slotStatusTtlMs?: number;
  /** The nvidia-smi to ask (tests use a double). */
  nvidiaSmi?: string;
  logger?: Logger;
  /** Stitch jobs (ffmpeg, no GPU) this process runs at once; 0: none. */
  stitchConcurrency?: number;
  /** This host's cache of media inputs given by URL (default `<state-dir>/input-cache`). */
  inputCacheDir?: string;
  /** Unused inputs are evicted, least recently used first, beyond this many bytes. */
  inputCacheMaxBytes?: number;
  /** An input not used for this long is evicted. */
  inputCacheMaxAgeMs?: number;
}

/** `--gpus`: `auto` (what nvidia-smi lists) or GPU indices such as `0,1`. */
export const GpuListSetting = z.string().transform((value, context) => {
  if (value.trim() === "auto") return "auto" as const;
  const indices = value.split(",").map((part) => Number(part.trim()));
  if (indices.some((index) => !Number.isInteger(index) || index < 0)) {
    context.addIssue({ code: "custom", message: "must be 'auto' or GPU indices such as 0,1" });
    return z.NEVER;
  }
  return indices;
});

const count = z.coerce.number().int().min(0);
/** Typed in GiB, kept in bytes. */
const GIB: Unit = { name: "GiB", scale: 1024 ** 3 };
/** Typed in hours, kept in milliseconds. */
const HOURS: Unit = { name: "hours", scale: 3_600_000 };

/**
 * The worker's options as the CLI takes them, each declared once: flag, variable, unit, default.
 * Keys are FarmWorkerOptions' own, so what the CLI reads is what the worker takes, and the defaults
 * here are the ones the worker applies (WORKER_DEFAULTS) whoever starts it.
 */
export const WORKER_OPTION_SET = {
  wangpRoot: option({
    flag: "--wangp-root",
    takes: "dir",
    env: "WGP_FARM_WANGP_ROOT",
    description: "the WanGP checkout (wangp engine)",
    schema: z.string().min(1),
  }),
  mainOutputDir: option({
    flag: "--main-output-dir",
    takes: "dir",
    env: "WGP_FARM_MAIN_OUTPUT_DIR",
    description: "root of every task's output folder (shared storage on a farm)",
    schema: z.string().min(1),
    required: true,
  }),
  gpus: option({
    flag: "--gpus",
    takes: "list",
    env: "WGP_FARM_GPUS",
    description: "'auto' (the GPUs nvidia-smi lists) or GPU indices such as 0,1",
    schema: GpuListSetting,
    default: "auto",
  }),
  slots: option({
    flag: "--slots",
    takes: "n",
    env: "WGP_FARM_SLOTS",
    description: "number of slots; without GPUs, this many slots on virtual GPU indices (dry-run, tests)",
    schema: z.coerce.number().int().min(1),
    defaultText: "one per GPU",
  }),
  engine: choiceOption({
    flag: "--engine",
    takes: "kind",
    env: "WGP_FARM_ENGINE",
    description: "wangp, or dry-run (no WanGP: writes the settings it would send)",
    choices: ["wangp", "dry-run"],
    default: "wangp",
  }),
  python: option({
    flag: "--python",
    takes: "path",
    env: "WGP_FARM_PYTHON",
    description: "the Python that runs WanGP (its virtualenv's)",
    schema: z.string().min(1),
    // The engine's own fallback (libs/engine defaultPython), named for --help.
    defaultText: DEFAULT_PYTHON,
  }),
  name: option({
    flag: "--name",
    takes: "name",
    env: "WGP_FARM_WORKER_NAME",
    description: "host part of the worker's identity (slots are gpu<N>@<name>)",
    schema: z.string().min(1),
    defaultText: "the host name",
  }),
  stateDir: option({
    flag: "--state-dir",
    takes: "dir",
    env: "WGP_FARM_STATE_DIR",
    description: "per-GPU engine state (wgp_config.json, scratch files)",
    schema: z.string().min(1),
    defaultText: `<main-output-dir>/${RESERVED_OUTPUT_PREFIX}-state`,
  }),
  drainTimeoutMs: option({
    flag: "--drain-timeout",
    unit: SECONDS,
    env: "WGP_FARM_DRAIN_TIMEOUT",
    description: "on SIGTERM/SIGINT, how long running jobs may finish before they go back to their queue",
    schema: z.coerce.number().positive(),
    default: 300_000,
  }),
  hangTimeoutMs: option({
    flag: "--hang-timeout",
    unit: SECONDS,
    env: "WGP_FARM_HANG_TIMEOUT",
    description: "a job without progress for this long is hung: the engine is restarted, the job retried",
    schema: z.coerce.number().positive(),
    default: ENGINE_DEFAULTS.hangTimeoutMs,
  }),
  lockDurationMs: option({
    flag: "--lock-duration-ms",
    takes: "ms",
    env: "WGP_FARM_LOCK_DURATION_MS",
    description:
      "job lock, renewed every quarter of it; a killed worker's job runs again after about lock + stalled interval",
    schema: z.coerce.number().int().min(1000),
    default: 8_000,
  }),
  stalledIntervalMs: option({
    flag: "--stalled-interval-ms",
    takes: "ms",
    env: "WGP_FARM_STALLED_INTERVAL_MS",
    description: "how often jobs of dead workers are looked for",
    schema: z.coerce.number().int().min(500),
    default: 3_000,
  }),
  quarantineAfter: option({
    flag: "--quarantine-after",
    takes: "n",
    env: "WGP_FARM_QUARANTINE_AFTER",
    description: "stalls + engine crashes after which a task goes to the quarantine queue",
    schema: z.coerce.number().int().min(1),
    default: 3,
  }),
  maxWaitMs: option({
    flag: "--max-wait",
    unit: SECONDS,
    env: "WGP_FARM_MAX_WAIT",
    description: "longest a job waits before a slot switches model for it",
    schema: z.coerce.number().positive(),
    default: 15 * 60_000,
  }),
  switchBacklogPerSlot: option({
    flag: "--switch-backlog",
    takes: "n",
    env: "WGP_FARM_SWITCH_BACKLOG",
    description:
      "another slot switches to a model when more than n of its jobs wait per slot on it, or when it would finish the model's last jobs sooner than the slots on it (a load short next to the work left)",
    schema: z.coerce.number().int().min(1),
    default: 2,
  }),
  causvidUrl: option({
    flag: "--causvid-url",
    takes: "url",
    env: "WGP_FARM_CAUSVID_URL",
    description: "where a missing CausVid LoRA is downloaded from",
    schema: z.url(),
    default: CAUSVID_PRESET.defaultUrl,
    defaultText: "Kijai/WanVideo_comfy on huggingface.co",
  }),
  causvidSha256: option({
    flag: "--causvid-sha256",
    takes: "hex",
    env: "WGP_FARM_CAUSVID_SHA256",
    description: "expected sha256 of the CausVid LoRA",
    schema: z.string().regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex digits"),
    defaultText: "not checked",
  }),
  recycleAfterJobs: option({
    flag: "--recycle-after-jobs",
    takes: "n",
    env: "WGP_FARM_RECYCLE_AFTER_JOBS",
    description: "restart each engine after n jobs (0: never)",
    schema: count,
    default: 0,
  }),
  recycleRssMb: option({
    flag: "--recycle-rss-mb",
    takes: "mb",
    env: "WGP_FARM_RECYCLE_RSS_MB",
    description: "restart an engine whose memory passes this many MiB after a job (0: never)",
    schema: count,
    default: 0,
  }),
  dryRunDurationS: option({
    flag: "--dry-run-duration",
    takes: "s",
    env: "WGP_FARM_DRY_RUN_DURATION",
    description: "seconds a dry-run job takes (handed to every dry-run engine)",
    schema: z.coerce.number().min(0),
    default: 0.5,
  }),
  wangpArgs: listOption({
    flag: "--wangp-arg",
    takes: "arg...",
    description: "extra WanGP CLI argument (repeatable)",
  }),
  stitchConcurrency: option({
    flag: "--stitch-concurrency",
    takes: "n",
    env: "WGP_FARM_STITCH_CONCURRENCY",
    description:
      "stitch jobs (ffmpeg on this host's CPU, no GPU slot) run at once; 0: this worker takes none",
    schema: count,
    default: 1,
  }),
  outputStore: OUTPUT_STORE_OPTION,
  ...STORAGE_OPTION_SET,
  inputCacheDir: option({
    flag: "--input-cache-dir",
    takes: "dir",
    env: "WGP_FARM_INPUT_CACHE_DIR",
    description: "this host's cache of media inputs given by URL (local disk)",
    schema: z.string().min(1),
    defaultText: "<state-dir>/input-cache",
  }),
  inputCacheMaxBytes: option({
    flag: "--input-cache-size",
    unit: GIB,
    env: "WGP_FARM_INPUT_CACHE_SIZE",
    description: "inputs not in use are evicted, least recently used first, beyond this size",
    schema: z.coerce.number().positive(),
    default: 50 * GIB.scale,
  }),
  inputCacheMaxAgeMs: option({
    flag: "--input-cache-max-age",
    unit: HOURS,
    env: "WGP_FARM_INPUT_CACHE_MAX_AGE",
    description: "an input not used for this long is evicted",
    schema: z.coerce.number().positive(),
    default: 7 * 24 * HOURS.scale,
  }),
};

/** Tuning that has no flag: tests and benchmarks set it through the API. */
const LIBRARY_DEFAULTS = {
  idleRecheckMs: 5_000,
  schedulingPolicy: "affinity" as SchedulingPolicyName,
  jobLogLines: 500,
  slotStatusTtlMs: 15_000,
};

/** What the worker applies to every option its caller leaves out. */
export const WORKER_DEFAULTS = {
  prefix: DEFAULT_PREFIX,
  ...defaultsOf(WORKER_OPTION_SET),
  ...LIBRARY_DEFAULTS,
} as const;

type DefaultedOption =
  | keyof typeof WORKER_DEFAULTS
  | "redisUrl"
  | "mainOutputDir"
  | "stateDir"
  | "lockRenewMs";

/** Everything a running worker needs, defaults applied (the logger travels apart). */
export type ResolvedWorkerOptions = Omit<FarmWorkerOptions, DefaultedOption | "logger"> &
  Required<Pick<FarmWorkerOptions, DefaultedOption>>;

export class WorkerConfigError extends UserError {
  override name = "WorkerConfigError";
}

/** The options that were given: an undefined one takes its default, as if it were left out. */
function givenOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

export function resolveWorkerOptions(options: FarmWorkerOptions): ResolvedWorkerOptions {
  const { logger: _logger, ...given } = options;
  const withDefaults = { ...WORKER_DEFAULTS, ...givenOnly(given) };
  if (withDefaults.engine === "wangp" && !withDefaults.wangpRoot) {
    throw new WorkerConfigError("--wangp-root is required with the wangp engine (or use --engine dry-run)");
  }
  const mainOutputDir = path.resolve(options.mainOutputDir);
  const { lockDurationMs } = withDefaults;
  const lockRenewMs = withDefaults.lockRenewMs ?? Math.max(250, Math.floor(lockDurationMs / 4));
  if (lockRenewMs >= lockDurationMs) {
    throw new WorkerConfigError(
      `the lock renewal (${lockRenewMs} ms) must be shorter than the lock (${lockDurationMs} ms)`,
    );
  }
  if (withDefaults.quarantineAfter < 1)
    throw new WorkerConfigError("the quarantine threshold must be at least 1");
  return {
    ...withDefaults,
    redisUrl: options.redisUrl,
    mainOutputDir,
    wangpRoot: withDefaults.wangpRoot ? path.resolve(withDefaults.wangpRoot) : undefined,
    stateDir: path.resolve(
      withDefaults.stateDir ?? path.join(mainOutputDir, `${RESERVED_OUTPUT_PREFIX}-state`),
    ),
    lockRenewMs,
  };
}
