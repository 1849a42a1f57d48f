import path from "node:path";
import type { Logger } from "@wgp-farm/config";
import { createS3Client, type S3Settings } from "@wgp-farm/storage";
import type { ResolvedWorkerOptions } from "../worker-options.js";
import { HttpInputSource } from "./http-source.js";
import { InputCache } from "./input-cache.js";
import { S3InputSource } from "./s3-source.js";

type InputCacheSettings = Pick<
  ResolvedWorkerOptions,
  "stateDir" | "inputCacheDir" | "inputCacheMaxBytes" | "inputCacheMaxAgeMs"
> &
  Partial<S3Settings>;

/**
 * The worker's input cache, from its options: where it lives, its limits, who reads each scheme.
 * `s3://` inputs are read with the worker's S3 settings where it has them (else AWS S3 of
 * AWS_REGION), credentials from the AWS chain (resolved at the first s3:// input, not before).
 */
export function openInputCache(options: InputCacheSettings, logger: Logger): Promise<InputCache> {
  const http = new HttpInputSource();
  const s3 = createS3Client({
    ...options,
    s3Region: options.s3Region ?? process.env.AWS_REGION ?? "us-east-1",
  });
  return InputCache.open({
    dir: path.resolve(options.inputCacheDir ?? path.join(options.stateDir, "input-cache")),
    maxBytes: options.inputCacheMaxBytes,
    maxAgeMs: options.inputCacheMaxAgeMs,
    sources: { https: http, http, s3: new S3InputSource(s3) },
    logger,
  });
}
