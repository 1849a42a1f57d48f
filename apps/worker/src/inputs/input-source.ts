import type { MediaUrl } from "@wgp-farm/tasks";

/** An input being read from where the task says it is. */
export interface InputBody {
  stream: AsyncIterable<Uint8Array>;
  /** Bytes the source announced (Content-Length, the object's size), when it did. */
  size: number | undefined;
  /** The MD5 (hex) the source vouches for (Content-MD5, a single-part S3 ETag), when it does. */
  md5: string | undefined;
}

/** Reads inputs of one or more URL schemes. */
export interface InputSource {
  open(media: MediaUrl, signal: AbortSignal): Promise<InputBody>;
}

/**
 * The input is not there for this worker, or not for it to read (404, 403, no such bucket or key):
 * the task is invalid; asking again would get the same answer.
 */
export class InputMissingError extends Error {
  override name = "InputMissingError";
}

/** Fetching the input failed on the way (network, a 5xx, a short or altered transfer): worth another attempt. */
export class InputFetchError extends Error {
  override name = "InputFetchError";
}

/** The input is not the file the task pinned with `#sha256=`: the task names the wrong file. */
export class InputChecksumError extends Error {
  override name = "InputChecksumError";
}

/** Content-MD5 (base64) as hex; undefined when the header is absent or not an MD5. */
export function md5FromBase64(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const bytes = Buffer.from(value, "base64");
  return bytes.length === 16 ? bytes.toString("hex") : undefined;
}
