import { type FarmConnection, type HostRecord, HostRecords } from "@wgp-farm/queue";
import type { S3Settings } from "@wgp-farm/storage";
import { type CheckResult, check, type DoctorReport } from "./check-result.js";
import { checkFfmpeg } from "./ffmpeg-check.js";
import { checkGpus } from "./gpu-checks.js";
import { checkLoraFolder } from "./lora-folder-check.js";
import { checkOutputFolder, type OutputMarker } from "./output-storage.js";
import { checkOutputStore } from "./output-store-check.js";
import { checkRedis } from "./redis-checks.js";
import type { WangpCheckout } from "./wangp-checkout.js";
import { checkWangp } from "./wangp-checks.js";
import { checkWangpPin } from "./wangp-pin-check.js";

export interface DoctorOptions {
  /** This host's name in the farm (its records and marker file are keyed by it). */
  host: string;
  engine: "wangp" | "dry-run";
  redisUrl: string;
  prefix: string;
  wangpRoot?: string;
  mainOutputDir?: string;
  /** `s3://bucket/prefix`: results go to this bucket (checked instead of a shared output folder). */
  outputStore?: string | undefined;
  /** How to reach the store (the worker's --s3-* options). */
  store?: S3Settings;
  python: string;
  enginePyDir: string;
  gpus: "auto" | readonly number[];
  nvidiaSmi?: string;
  /** Hosts that left the farm: their records are removed before comparing. */
  forgetHosts?: readonly string[];
  /** Hosts running workers now, from the slot registry. */
  listWorkerHosts?: (farm: FarmConnection) => Promise<string[]>;
}

async function wangpSection(options: DoctorOptions, others: readonly HostRecord[]) {
  if (!options.wangpRoot) {
    const needed = options.engine === "wangp";
    return {
      checks: [
        check("wangp", "wangp-checkout", needed ? "fail" : "skip", "no WanGP checkout given", {
          ...(needed ? { fix: "give --wangp-root DIR (or WGP_FARM_WANGP_ROOT)" } : {}),
        }),
      ],
      checkout: undefined,
    };
  }
  const { checks, checkout } = await checkWangp(options.wangpRoot, options.python, options.enginePyDir);
  const pin = checkout.hasApi ? checkWangpPin(checkout, others) : undefined;
  if (pin) checks.push(pin);
  if (checkout.hasApi) checks.push(await checkLoraFolder(checkout));
  return { checks, checkout: checkout.hasApi ? checkout : undefined };
}

/** Where results go: the bucket of --output-store, else the output folder (shared with the other hosts?). */
async function outputSection(
  options: DoctorOptions,
  others: readonly HostRecord[],
  farm: FarmConnection | undefined,
): Promise<{ checks: CheckResult[]; marker?: OutputMarker | undefined }> {
  if (options.outputStore) {
    const settings = options.store ?? { s3Region: "us-east-1" };
    return {
      checks: await checkOutputStore({
        outputStore: options.outputStore,
        settings,
        stagingDir: options.mainOutputDir,
      }),
    };
  }
  if (!options.mainOutputDir) {
    return {
      checks: [check("folders", "output-folder", "skip", "no output folder given (--main-output-dir)")],
    };
  }
  return checkOutputFolder({
    outputDir: options.mainOutputDir,
    host: options.host,
    otherHosts: others,
    workerHosts: farm && options.listWorkerHosts ? await options.listWorkerHosts(farm) : [],
  });
}

/** Every check, in the order a person reads them; writes this host's record when Redis answers. */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const checks: CheckResult[] = [];
  const redis = await checkRedis(options.redisUrl, options.prefix);
  checks.push(...redis.checks);
  const records = redis.farm ? new HostRecords(redis.farm.redis, redis.farm.keys) : undefined;
  try {
    for (const host of options.forgetHosts ?? []) await records?.forget(host);
    const others = ((await records?.list()) ?? []).filter((record) => record.host !== options.host);
    const wangp = await wangpSection(options, others);
    checks.push(...wangp.checks);
    checks.push(...(await checkGpus(options)));
    checks.push(await checkFfmpeg(wangp.checkout?.root));
    const output = await outputSection(options, others, redis.farm);
    checks.push(...output.checks);
    await records?.write(hostRecord(options, wangp.checkout, output.marker));
  } finally {
    await redis.farm?.close();
  }
  return {
    ok: !checks.some((c) => c.status === "fail"),
    host: options.host,
    engine: options.engine,
    checked_at: new Date().toISOString(),
    checks,
  };
}

function hostRecord(
  options: DoctorOptions,
  checkout: WangpCheckout | undefined,
  marker: { token: string } | undefined,
): HostRecord {
  return {
    host: options.host,
    checked_at: new Date().toISOString(),
    ...(marker && options.mainOutputDir
      ? { output_dir: options.mainOutputDir, output_marker: marker.token }
      : {}),
    ...(checkout?.version ? { wangp_version: checkout.version } : {}),
    ...(checkout?.commit ? { wangp_commit: checkout.commit } : {}),
  };
}
