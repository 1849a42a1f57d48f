import { GetObjectCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { SHA256_METADATA } from "./object-upload.js";

/** A time-limited GET link to one object (computed locally: no request to the store). */
export async function presignedLink(
  client: S3Client,
  bucket: string,
  key: string,
  ttlMs: number,
): Promise<string> {
  return getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), {
    expiresIn: Math.max(1, Math.round(ttlMs / 1000)),
  });
}

/** What the store says it holds under a key; undefined when there is no such object. */
export interface StoredObject {
  size: number;
  /** The sha256 user metadata set at upload, if any. */
  sha256: string | undefined;
  etag: string;
}

export async function headObject(
  client: S3Client,
  bucket: string,
  key: string,
): Promise<StoredObject | undefined> {
  try {
    const answer = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return {
      size: answer.ContentLength ?? 0,
      sha256: answer.Metadata?.[SHA256_METADATA],
      etag: (answer.ETag ?? "").replaceAll('"', ""),
    };
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404 || (error as { name?: string }).name === "NotFound") return undefined;
    throw error;
  }
}
