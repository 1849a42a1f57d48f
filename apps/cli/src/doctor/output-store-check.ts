import { randomUUID } from "node:crypto";
import { answerWithin } from "@wgp-farm/config";
import {
  Bucket,
  parseS3Url,
  type S3Settings,
  StoreSetupError,
  StoreUnavailableError,
} from "@wgp-farm/storage";
import { type CheckResult, check } from "./check-result.js";
import { probeFolder } from "./writable-folder.js";

/** A store that has not answered a request in this long is reported as unreachable. */
const STORE_ANSWER_MS = 15_000;
/** Where the probe object goes, under the store's prefix (a reserved name: never a task's folder). */
const PROBE_FOLDER = ".wgp-farm-doctor";

const RIGHTS = "s3:ListBucket, GetObject, PutObject, DeleteObject and AbortMultipartUpload on the bucket";

/** What to do about a failure of the store, by what the failure says. */
function fixFor(error: unknown, outputStore: string, settings: S3Settings): string {
  const endpoint = settings.s3Endpoint ? `--s3-endpoint ${settings.s3Endpoint}` : "AWS S3 (no --s3-endpoint)";
  if (error instanceof StoreSetupError && error.problem === "missing-bucket") {
    const { bucket } = parseS3Url(outputStore, "--output-store");
    return `create the bucket (aws s3 mb s3://${bucket}, or mc mb <alias>/${bucket} on MinIO), or correct --output-store; on another store than ${endpoint}, correct --s3-endpoint`;
  }
  if (error instanceof StoreSetupError && error.problem === "credentials") {
    return `give this host credentials the store accepts, by the AWS chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, --s3-profile or AWS_PROFILE with ~/.aws/credentials, or an instance role), with ${RIGHTS}`;
  }
  if (error instanceof StoreUnavailableError) {
    return `check ${endpoint}: the URL and port of the S3 API (MinIO's is :9000, not its console), http or https, and that this host reaches it (firewall, DNS)`;
  }
  return `check ${endpoint} and --s3-region: something answered, but not as an S3 store would (${settings.s3PathStyle ? "" : "a local server usually needs --s3-path-style; "}is it the S3 API's address?)`;
}

function failed(id: string, what: string, error: unknown, outputStore: string, settings: S3Settings) {
  const message = error instanceof Error ? error.message : String(error);
  return check("store", id, "fail", `${what}: ${message}`, { fix: fixFor(error, outputStore, settings) });
}

function answered<T>(work: Promise<T>, what: string): Promise<T> {
  return answerWithin(
    work,
    STORE_ANSWER_MS,
    () => new StoreUnavailableError(`${what}: no answer within ${STORE_ANSWER_MS / 1000} s`),
  );
}

/**
 * The bucket results go to (`--output-store`), instead of a shared output folder: that the store
 * answers, the bucket exists and takes these credentials (a listing), and that this host can write
 * there (a probe object put and deleted); then the local staging folder (`--main-output-dir`).
 */
export async function checkOutputStore(options: {
  outputStore: string;
  settings: S3Settings;
  /** The local staging of uploads; absent: not checked. */
  stagingDir: string | undefined;
}): Promise<CheckResult[]> {
  const { outputStore, settings } = options;
  const checks: CheckResult[] = [];
  let bucket: Bucket | undefined;
  try {
    bucket = await answered(
      Bucket.open(outputStore, settings, {
        setting: "--output-store",
        maxAttempts: 2,
        // So that a store that never answers does not keep the doctor from exiting.
        requestTimeoutMs: STORE_ANSWER_MS,
      }),
      `--output-store ${outputStore}`,
    );
    checks.push(
      check("store", "output-store", "ok", `${outputStore} answers, with the bucket and these credentials`),
    );
  } catch (error) {
    checks.push(failed("output-store", "not usable", error, outputStore, settings));
  }
  if (bucket) {
    checks.push(await checkWritable(bucket, outputStore, settings));
    bucket.close();
  }
  checks.push(await checkStaging(options.stagingDir));
  return checks;
}

async function checkWritable(
  bucket: Bucket,
  outputStore: string,
  settings: S3Settings,
): Promise<CheckResult> {
  const key = bucket.keyOf(PROBE_FOLDER, `${randomUUID()}.txt`);
  try {
    await answered(
      bucket.putText(key, "wgp-farm doctor probe\n", "text/plain"),
      `writing ${bucket.urlOf(key)}`,
    );
  } catch (error) {
    return failed("output-store-write", "cannot write", error, outputStore, settings);
  }
  try {
    await answered(bucket.delete([key]), `deleting ${bucket.urlOf(key)}`);
  } catch (error) {
    const result = failed(
      "output-store-write",
      `wrote, but cannot delete ${bucket.urlOf(key)}`,
      error,
      outputStore,
      settings,
    );
    return {
      ...result,
      fix: `give this host's credentials ${RIGHTS} (workers delete staging and replaced results), then remove the probe`,
    };
  }
  return check(
    "store",
    "output-store-write",
    "ok",
    `this host can write to ${outputStore} (a probe object put and deleted)`,
  );
}

async function checkStaging(stagingDir: string | undefined): Promise<CheckResult> {
  if (!stagingDir) {
    return check("store", "output-staging", "skip", "no staging folder given (--main-output-dir)");
  }
  const state = await probeFolder(stagingDir);
  if (state.writable) {
    return check(
      "store",
      "output-staging",
      "ok",
      `${state.folder} writable (local staging of uploads: need not be shared)`,
    );
  }
  return check(
    "store",
    "output-staging",
    "fail",
    `${state.folder} is not writable (${state.error ?? "no access"})`,
    {
      fix: `create it on a local disk with room for the results being uploaded, writable by the worker's user (mkdir -p ${state.folder})`,
    },
  );
}
