import { ConfigError, option, SECONDS, switchOption } from "@wgp-farm/config";
import { z } from "zod";

const MIB = 1024 * 1024;

/** The smallest part S3 accepts (every part but the last). */
export const MIN_PART_SIZE = 5 * MIB;

/**
 * How to reach an S3-compatible store (spread into the option sets of every program that reads or
 * writes one). Credentials are not among them on purpose: they come from the standard AWS chain
 * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws/credentials, container and instance
 * roles), so they never appear in task data, command lines or logs.
 */
export const S3_ACCESS_OPTION_SET = {
  s3Endpoint: option({
    flag: "--s3-endpoint",
    takes: "url",
    env: "WGP_FARM_S3_ENDPOINT",
    description: "S3-compatible endpoint (MinIO, Ceph, R2, Backblaze…); absent: AWS S3 of --s3-region",
    schema: z.url({ protocol: /^https?$/ }),
  }),
  s3Region: option({
    flag: "--s3-region",
    takes: "name",
    env: "AWS_REGION",
    description: "region of the bucket (S3-compatible servers mostly ignore it)",
    schema: z.string().min(1),
    default: "us-east-1",
  }),
  s3PathStyle: switchOption({
    flag: "--s3-path-style",
    env: "WGP_FARM_S3_PATH_STYLE",
    description:
      "address buckets as <endpoint>/<bucket> instead of <bucket>.<endpoint> (MinIO, most local servers)",
  }),
  s3Profile: option({
    flag: "--s3-profile",
    takes: "name",
    env: "WGP_FARM_S3_PROFILE",
    description:
      "AWS profile (~/.aws/config, ~/.aws/credentials) to take credentials from; absent: AWS_PROFILE or the default chain",
    schema: z.string().min(1),
  }),
};

/** `--s3-link-ttl`: for the programs that hand out links to stored results. */
export const LINK_TTL_OPTION = option({
  flag: "--s3-link-ttl",
  env: "WGP_FARM_S3_LINK_TTL",
  description: "how long the presigned links to stored results stay valid",
  schema: z.coerce
    .number()
    .positive()
    .max(7 * 24 * 3600),
  unit: SECONDS,
  default: 3600_000,
});

/** Everything a worker that uploads results takes. */
export const STORAGE_OPTION_SET = {
  ...S3_ACCESS_OPTION_SET,
  s3PartSize: option({
    flag: "--s3-part-size",
    takes: "MiB",
    env: "WGP_FARM_S3_PART_SIZE",
    description: "files larger than this are uploaded in parts of this size",
    schema: z.coerce
      .number()
      .int()
      .min(MIN_PART_SIZE / MIB)
      .max(5 * 1024),
    unit: { name: "MiB", scale: MIB },
    default: 16 * MIB,
  }),
  s3LinkTtlMs: LINK_TTL_OPTION,
};

/** What a client needs to reach a store (the values of STORAGE_OPTION_SET, or given in code). */
export interface S3Settings {
  /** Absent: AWS S3 of the region. */
  s3Endpoint?: string | undefined;
  s3Region: string;
  s3PathStyle?: boolean;
  /** Absent: AWS_PROFILE, or the default chain. */
  s3Profile?: string | undefined;
  /** Bytes. */
  s3PartSize?: number;
  s3LinkTtlMs?: number;
}

export const DEFAULT_PART_SIZE = STORAGE_OPTION_SET.s3PartSize.default;
export const DEFAULT_LINK_TTL_MS = STORAGE_OPTION_SET.s3LinkTtlMs.default;

/** Checks settings given in code (the CLI's are checked by their schemas). */
export function checkPartSize(bytes: number): number {
  if (!Number.isInteger(bytes) || bytes < MIN_PART_SIZE) {
    throw new ConfigError(`--s3-part-size: parts must be at least ${MIN_PART_SIZE / MIB} MiB (S3's minimum)`);
  }
  return bytes;
}

/** `--output-store`: where results go (every program that writes or reads results takes it). */
export const OUTPUT_STORE_OPTION = option({
  flag: "--output-store",
  takes: "url",
  env: "WGP_FARM_OUTPUT_STORE",
  description:
    "s3://bucket/prefix to keep results in a bucket (settings: --s3-*); absent: the main output dir",
  schema: z.string().regex(/^s3:\/\/[^/]+/, "must be an s3://bucket/prefix URL"),
});
