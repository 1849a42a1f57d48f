import { createS3Client, headObject, type S3Settings } from "@wgp-farm/storage";
import { type MediaUrl, redactUrl } from "@wgp-farm/tasks";

/** What a store says about an input it has. */
export interface ProbedInput {
  /** Bytes, when the store says. */
  size: number | undefined;
}

/** The store says the input is not there, or not for us (404, 403, no such key or bucket): a task error. */
export class InputNotThereError extends Error {
  override name = "InputNotThereError";
}

/** The store could not be asked (network, 5xx, our own credentials refused): worth asking again, then a warning. */
export class InputUnreachableError extends Error {
  override name = "InputUnreachableError";
}

/** Asks a store whether an input exists and how large it is, without reading it. */
export interface InputProbe {
  probe(media: MediaUrl, signal: AbortSignal): Promise<ProbedInput>;
}

const NOT_THERE_STATUSES = new Set([401, 403, 404, 410]);

function causeOf(error: unknown): string {
  let current = error as { cause?: unknown; message?: string } | undefined;
  while (current?.cause && typeof current.cause === "object") current = current.cause as typeof current;
  return current?.message ?? String(error);
}

/** `https://` and `http://` inputs: a HEAD request (a GET cut short where a server refuses HEAD). */
export class HttpProbe implements InputProbe {
  async probe(media: MediaUrl, signal: AbortSignal): Promise<ProbedInput> {
    let response = await this.#request(media, "HEAD", signal);
    if (response.status === 405 || response.status === 501)
      response = await this.#request(media, "GET", signal);
    await response.body?.cancel();
    const shown = redactUrl(media.url);
    if (NOT_THERE_STATUSES.has(response.status)) {
      throw new InputNotThereError(`${shown} answered ${response.status} ${response.statusText}`.trim());
    }
    if (!response.ok) {
      throw new InputUnreachableError(`${shown} answered ${response.status} ${response.statusText}`.trim());
    }
    const length = response.headers.get("content-length");
    return { size: length && !response.headers.get("content-encoding") ? Number(length) : undefined };
  }

  async #request(media: MediaUrl, method: string, signal: AbortSignal): Promise<Response> {
    try {
      return await fetch(media.url, { method, signal, redirect: "follow" });
    } catch (error) {
      throw new InputUnreachableError(
        `${redactUrl(media.url)}: ${signal.aborted ? "no answer" : causeOf(error)}`,
      );
    }
  }
}

/** Refusals of the importer's own credentials: its setup, not the task (the workers may have others). */
type S3Client = Parameters<typeof headObject>[0];

const CREDENTIAL_CODES = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "InvalidToken",
  "ExpiredToken",
]);

/** `s3://` inputs: HeadObject with the importer's S3 settings and credentials from the AWS chain. */
export class S3Probe implements InputProbe {
  readonly #client: S3Client;

  constructor(client: S3Client) {
    this.#client = client;
  }

  async probe(media: MediaUrl, signal: AbortSignal): Promise<ProbedInput> {
    const url = new URL(media.url);
    const bucket = url.hostname;
    const key = decodeURIComponent(url.pathname.slice(1));
    const shown = redactUrl(media.url);
    signal.throwIfAborted();
    try {
      const stored = await headObject(this.#client, bucket, key);
      if (!stored) throw new InputNotThereError(`${shown}: no such object`);
      return { size: stored.size };
    } catch (error) {
      if (error instanceof InputNotThereError) throw error;
      const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
      const status = $metadata?.httpStatusCode;
      const why = `${shown}: ${name ?? "error"}${status ? ` (${status})` : ""}`;
      if (name && CREDENTIAL_CODES.has(name))
        throw new InputUnreachableError(`${why}: the store refused the importer's credentials`);
      if (status === 403 || status === 404 || name === "NoSuchBucket") throw new InputNotThereError(why);
      throw new InputUnreachableError(`${why}: ${causeOf(error)}`);
    }
  }
}

/** The probes of an importer: http(s) always, s3 with the given settings (credentials from the AWS chain). */
export function importerProbes(s3: S3Settings): Partial<Record<MediaUrl["scheme"], InputProbe>> {
  const http = new HttpProbe();
  return { https: http, http, s3: new S3Probe(createS3Client(s3)) };
}
