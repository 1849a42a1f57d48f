import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { type MediaUrl, redactUrl } from "@wgp-farm/tasks";
import { type InputBody, InputFetchError, InputMissingError, type InputSource } from "./input-source.js";

/** Answers that mean the object is not there for this worker's credentials. */
const MISSING_CODES = new Set(["NoSuchKey", "NotFound", "NoSuchBucket", "AccessDenied"]);
/** Refusals of this worker's credentials (also 403s): the worker's setup, not the task; another worker may read it. */
const CREDENTIAL_CODES = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "InvalidToken",
  "ExpiredToken",
]);

/** `s3://bucket/key` as the bucket and the (percent-decoded) key. */
export function bucketAndKey(url: string): { bucket: string; key: string } {
  const parsed = new URL(url);
  return { bucket: parsed.hostname, key: decodeURIComponent(parsed.pathname.slice(1)) };
}

/**
 * The MD5 an object's ETag stands for: only a single-part upload's ETag is one, and not under
 * SSE-KMS or customer keys (where S3 makes it something else).
 */
function md5OfEtag(
  etag: string | undefined,
  encryption: string | undefined,
  customerKey: boolean,
): string | undefined {
  const bare = etag?.replaceAll('"', "").toLowerCase();
  if (!bare || !/^[0-9a-f]{32}$/.test(bare) || customerKey || encryption?.startsWith("aws:kms"))
    return undefined;
  return bare;
}

/** `s3://` inputs, read with the worker's S3 settings and credentials from the AWS chain. */
export class S3InputSource implements InputSource {
  readonly #client: S3Client;

  constructor(client: S3Client) {
    this.#client = client;
  }

  async open(media: MediaUrl, signal: AbortSignal): Promise<InputBody> {
    const { bucket, key } = bucketAndKey(media.url);
    const shown = redactUrl(media.url);
    try {
      const answer = await this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), {
        abortSignal: signal,
      });
      if (!answer.Body) throw new InputFetchError(`${shown}: the store sent no body`);
      return {
        stream: answer.Body as AsyncIterable<Uint8Array>,
        size: answer.ContentLength,
        md5: md5OfEtag(answer.ETag, answer.ServerSideEncryption, answer.SSECustomerAlgorithm !== undefined),
      };
    } catch (error) {
      if (error instanceof InputFetchError) throw error;
      const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
      const status = $metadata?.httpStatusCode;
      const why = `${shown}: ${name ?? "error"}${status ? ` (${status})` : ""}`;
      const refusedCredentials = name !== undefined && CREDENTIAL_CODES.has(name);
      if (refusedCredentials)
        throw new InputFetchError(`${why}: the store refused this worker's credentials`);
      if ((name && MISSING_CODES.has(name)) || status === 404 || status === 403)
        throw new InputMissingError(why);
      throw new InputFetchError(`fetching ${why}: ${(error as Error).message}`);
    }
  }
}
