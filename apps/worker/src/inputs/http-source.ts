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

/** The innermost cause of a failed fetch (`connect ECONNREFUSED …`); undici's own message says only "fetch failed". */
function causeOf(error: unknown): string {
  let current = error as { cause?: unknown; message?: string } | undefined;
  while (current?.cause && typeof current.cause === "object") current = current.cause as typeof current;
  return current?.message ?? String(error);
}

/**
 * `https://` (and `http://` where the task was allowed it) inputs, by Node's fetch. An ETag is not an
 * MD5 on most web servers, so only Content-MD5 is checked.
 */
export class HttpInputSource implements InputSource {
  async open(media: MediaUrl, signal: AbortSignal): Promise<InputBody> {
    const shown = redactUrl(media.url);
    let response: Response;
    try {
      response = await fetch(media.url, { signal, redirect: "follow" });
    } catch (error) {
      throw new InputFetchError(`fetching ${shown} failed: ${signal.aborted ? "stopped" : causeOf(error)}`);
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
