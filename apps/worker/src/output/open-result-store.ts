import type { Logger } from "@wgp-farm/config";
import type { S3Settings } from "@wgp-farm/storage";
import { OutputPublisher } from "./output-publisher.js";
import type { ResultStore } from "./result-store.js";
import { S3ResultStore } from "./s3-result-store.js";

export interface ResultStoreOptions extends S3Settings {
  /** Local: results, or with a bucket the staging of results before upload. */
  mainOutputDir: string;
  /** `s3://bucket/prefix`; absent: results stay in mainOutputDir (the shared-folder farm). */
  outputStore?: string | undefined;
}

/** The folder store, or the S3 store when `--output-store` names a bucket (checked at once). */
export async function openResultStore(options: ResultStoreOptions, logger?: Logger): Promise<ResultStore> {
  if (!options.outputStore) return OutputPublisher.open(options.mainOutputDir, logger);
  return S3ResultStore.open(options.mainOutputDir, options.outputStore, options, logger);
}
