import path from "node:path";
import type { Logger } from "@wgp-farm/config";
import type { WgpOptionName } from "@wgp-farm/engine";
import { CAUSVID_PRESET, RESERVED_OUTPUT_PREFIX } from "@wgp-farm/tasks";

/** `affinity`: the farm's scheduler. `fifo`: the oldest job anywhere, whatever model is loaded (benchmark baseline). */
export type SchedulingPolicyName = "affinity" | "fifo";

export interface FarmWorkerOptions {
  redisUrl: string;
  /** Key prefix of every queue and key (default `wgp`). */
  prefix?: string;
  /** Root of every task's output folder. */
  mainOutputDir: string;
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
  /** Python interpreter of the WanGP virtualenv (default $WGP_FARM_PYTHON, else python3). */
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
}

export const WORKER_DEFAULTS = {
  prefix: "wgp",
  engine: "wangp",
  drainTimeoutMs: 300_000,
  hangTimeoutMs: 15 * 60_000,
  lockDurationMs: 8_000,
  stalledIntervalMs: 3_000,
  quarantineAfter: 3,
  maxWaitMs: 15 * 60_000,
  switchBacklogPerSlot: 2,
  idleRecheckMs: 5_000,
  schedulingPolicy: "affinity",
  causvidUrl: CAUSVID_PRESET.defaultUrl,
  recycleAfterJobs: 0,
  recycleRssMb: 0,
  jobLogLines: 500,
  slotStatusTtlMs: 15_000,
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

export class WorkerConfigError extends Error {
  override name = "WorkerConfigError";
}

export function resolveWorkerOptions(options: FarmWorkerOptions): ResolvedWorkerOptions {
  const engine = options.engine ?? WORKER_DEFAULTS.engine;
  if (engine === "wangp" && !options.wangpRoot) {
    throw new WorkerConfigError("--wangp-root is required with the wangp engine (or use --engine dry-run)");
  }
  const mainOutputDir = path.resolve(options.mainOutputDir);
  const lockDurationMs = options.lockDurationMs ?? WORKER_DEFAULTS.lockDurationMs;
  const lockRenewMs = options.lockRenewMs ?? Math.max(250, Math.floor(lockDurationMs / 4));
  if (lockRenewMs >= lockDurationMs) {
    throw new WorkerConfigError(
      `the lock renewal (${lockRenewMs} ms) must be shorter than the lock (${lockDurationMs} ms)`,
    );
  }
  const { logger: _logger, ...rest } = options;
  const resolved: ResolvedWorkerOptions = {
    ...rest,
    prefix: options.prefix ?? WORKER_DEFAULTS.prefix,
    mainOutputDir,
    engine,
    wangpRoot: options.wangpRoot ? path.resolve(options.wangpRoot) : undefined,
    stateDir: path.resolve(options.stateDir ?? path.join(mainOutputDir, `${RESERVED_OUTPUT_PREFIX}-state`)),
    drainTimeoutMs: options.drainTimeoutMs ?? WORKER_DEFAULTS.drainTimeoutMs,
    hangTimeoutMs: options.hangTimeoutMs ?? WORKER_DEFAULTS.hangTimeoutMs,
    lockDurationMs,
    lockRenewMs,
    stalledIntervalMs: options.stalledIntervalMs ?? WORKER_DEFAULTS.stalledIntervalMs,
    quarantineAfter: options.quarantineAfter ?? WORKER_DEFAULTS.quarantineAfter,
    maxWaitMs: options.maxWaitMs ?? WORKER_DEFAULTS.maxWaitMs,
    switchBacklogPerSlot: options.switchBacklogPerSlot ?? WORKER_DEFAULTS.switchBacklogPerSlot,
    idleRecheckMs: options.idleRecheckMs ?? WORKER_DEFAULTS.idleRecheckMs,
    schedulingPolicy: options.schedulingPolicy ?? WORKER_DEFAULTS.schedulingPolicy,
    causvidUrl: options.causvidUrl ?? WORKER_DEFAULTS.causvidUrl,
    recycleAfterJobs: options.recycleAfterJobs ?? WORKER_DEFAULTS.recycleAfterJobs,
    recycleRssMb: options.recycleRssMb ?? WORKER_DEFAULTS.recycleRssMb,
    jobLogLines: options.jobLogLines ?? WORKER_DEFAULTS.jobLogLines,
    slotStatusTtlMs: options.slotStatusTtlMs ?? WORKER_DEFAULTS.slotStatusTtlMs,
  };
  if (resolved.quarantineAfter < 1)
    throw new WorkerConfigError("the quarantine threshold must be at least 1");
  return resolved;
}
