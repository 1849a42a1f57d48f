import path from "node:path";
import type { Logger } from "@wgp-farm/config";
import type { ResolvedWorkerOptions } from "../worker-options.js";
import { HttpInputSource } from "./http-source.js";
import { InputCache } from "./input-cache.js";

/** The worker's input cache, from its options: where it lives, its limits, who reads each scheme. */
export function openInputCache(
  options: Pick<
    ResolvedWorkerOptions,
    "stateDir" | "inputCacheDir" | "inputCacheMaxBytes" | "inputCacheMaxAgeMs"
  >,
  logger: Logger,
): Promise<InputCache> {
  const http = new HttpInputSource();
  return InputCache.open({
    dir: path.resolve(options.inputCacheDir ?? path.join(options.stateDir, "input-cache")),
    maxBytes: options.inputCacheMaxBytes,
    maxAgeMs: options.inputCacheMaxAgeMs,
    sources: { https: http, http },
    logger,
  });
}
