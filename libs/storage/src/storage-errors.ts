import { ConfigError, UserError } from "@wgp-farm/config";

/** An uploaded object does not match what was sent (a corrupted part, a wrong digest). */
export class IntegrityError extends Error {
  override name = "IntegrityError";
}

/** The store cannot be used as configured: a missing bucket, refused credentials. Retrying will not help. */
export class StoreSetupError extends ConfigError {
  override name = "StoreSetupError";
}

/** The store could not be reached or failed for now: the work can be retried. */
export class StoreUnavailableError extends UserError {
  override name = "StoreUnavailableError";
}

const CREDENTIAL_CODES = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "AccessDenied",
  "InvalidToken",
  "ExpiredToken",
  "CredentialsProviderError",
]);

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "TimeoutError",
  "RequestTimeout",
]);

/** Where an error happened, for its message: the store's URL and the setting that names it. */
export interface StoreContext {
  /** `s3://bucket/prefix` */
  url: string;
  bucket: string;
  /** The option that names the store: `--output-store`. */
  setting: string;
  endpoint?: string | undefined;
}

function codeOf(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { name, code, Code } = error as { name?: unknown; code?: unknown; Code?: unknown };
  for (const candidate of [Code, code, name]) if (typeof candidate === "string") return candidate;
  return undefined;
}

/** The network error under an SDK error, if any (the SDK wraps them). */
function networkCodeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth += 1) {
    const code = codeOf(current);
    if (code && NETWORK_CODES.has(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * The operator's reading of an error from the store: a missing bucket or refused credentials become
 * a StoreSetupError naming the setting, an unreachable store a StoreUnavailableError; an
 * IntegrityError and anything else unknown is returned as it is.
 */
export function explainStoreError(error: unknown, context: StoreContext): unknown {
  if (error instanceof UserError || error instanceof IntegrityError) return error;
  const code = codeOf(error);
  const where = `${context.setting} ${context.url}`;
  if (code === "NoSuchBucket") {
    return new StoreSetupError(
      `${where}: the bucket '${context.bucket}' does not exist on the store`,
      undefined,
      {
        cause: error,
      },
    );
  }
  if (code && CREDENTIAL_CODES.has(code)) {
    return new StoreSetupError(
      `${where}: the store refused the credentials (${code}); they come from the AWS chain: ` +
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, --s3-profile or AWS_PROFILE, ~/.aws/credentials",
      undefined,
      { cause: error },
    );
  }
  const network = networkCodeOf(error);
  if (network) {
    const endpoint = context.endpoint ? `--s3-endpoint ${context.endpoint}` : "AWS S3";
    return new StoreUnavailableError(`${where}: cannot reach ${endpoint} (${network})`, undefined, {
      cause: error,
    });
  }
  return error;
}
