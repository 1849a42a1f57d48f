import { type MediaUrl, redactUrl } from "@wgp-farm/tasks";
import {
  type InputBody,
  InputFetchError,
  InputMissingError,
  type InputSource,
  md5FromBase64,
} from "./input-source.js";

/** Answers that mean the file is not there for us, whatever the number of tries. */
const MISSING_STATUSES = new Set([401, 403, 404, 410]);

/**
 * How a worker trusts an https server whose certificate a private CA signed: Node's own variable,
 * read when the process starts, by every TLS client in it (inputs, the importer's URL check, an S3
 * endpoint on https). The farm adds no option of its own for it.
 */
export const EXTRA_CA_ENV = "NODE_EXTRA_CA_CERTS";

/** Refusals of a certificate that no trusted CA vouches for: a private CA, or a self-signed server. */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
]);

/** The innermost cause of a failed fetch (`connect ECONNREFUSED …`); undici's own message says only "fetch failed". */
function innermostCause(error: unknown): { message?: string; code?: unknown } | undefined {
  let current = error as { cause?: unknown; message?: string; code?: unknown } | undefined;
  while (current?.cause && typeof current.cause === "object") current = current.cause as typeof current;
  return current;
}

/** Why a fetch failed, for the operator: a refused certificate says how to trust its CA. */
function whyFetchFailed(error: unknown): string {
  const cause = innermostCause(error);
  const message = cause?.message ?? String(error);
  if (typeof cause?.code === "string" && UNTRUSTED_CERTIFICATE_CODES.has(cause.code)) {
    return (
      `the server's certificate is not trusted (${cause.code}: ${message}); if a private CA signed it, ` +
      `give the worker that CA's certificate: ${EXTRA_CA_ENV}=/path/to/ca.pem in its environment`
    );
  }
  return message;
}

/**
 * `https://` (and `http://` where the task was allowed it) inputs, by Node's fetch: certificates are
 * checked against Node's CAs and those of EXTRA_CA_ENV. An ETag is not an MD5 on most web servers, so
 * only Content-MD5 is checked.
 */
export class HttpInputSource implements InputSource {
  async open(media: MediaUrl, signal: AbortSignal): Promise<InputBody> {
    const shown = redactUrl(media.url);
    let response: Response;
    try {
      response = await fetch(media.url, { signal, redirect: "follow" });
    } catch (error) {
      throw new InputFetchError(
        `fetching ${shown} failed: ${signal.aborted ? "stopped" : whyFetchFailed(error)}`,
      );
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      const why = `${shown} answered ${response.status} ${response.statusText}`.trim();
      throw MISSING_STATUSES.has(response.status) ? new InputMissingError(why) : new InputFetchError(why);
    }
    const length = response.headers.get("content-length");
    const encoded = response.headers.get("content-encoding");
    return {
      stream: response.body,
      // A compressed transfer's length is not the file's (fetch decompresses).
      size: length && !encoded ? Number(length) : undefined,
      md5: md5FromBase64(response.headers.get("content-md5")),
    };
  }
}
