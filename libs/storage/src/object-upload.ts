import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { bestEffort, type Logger } from "@wgp-farm/config";
import { IntegrityError } from "./storage-errors.js";

/** User metadata every uploaded file carries: the sha256 its manifest lists, checked by HEAD. */
export const SHA256_METADATA = "sha256";

export interface FileUpload {
  bucket: string;
  key: string;
  file: string;
  size: number;
  /** What the manifest says the file holds: the bytes sent are hashed and compared before completing. */
  sha256: string;
  /** Files larger than this go in parts of this size. */
  partSize: number;
  contentType?: string | undefined;
  /** Parts in flight at once. */
  concurrency?: number;
  signal?: AbortSignal | undefined;
  logger?: Logger | undefined;
}

/** Tries per part: a part whose ETag shows it arrived damaged is sent again once. */
const PART_TRIES = 2;
const DEFAULT_CONCURRENCY = 4;

function md5(bytes: Uint8Array): Buffer {
  return createHash("md5").update(bytes).digest();
}

/** An ETag without its quotes. */
function plainEtag(etag: string | undefined): string {
  return (etag ?? "").replaceAll('"', "");
}

async function readRange(file: string, offset: number, length: number): Promise<Buffer> {
  const handle = await open(file, "r");
  try {
    const buffer = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
      if (bytesRead === 0) throw new IntegrityError(`${file} is shorter than its manifest says`);
      filled += bytesRead;
    }
    return buffer;
  } finally {
    await handle.close();
  }
}

function checkSha256(upload: FileUpload, actual: string): void {
  if (actual !== upload.sha256) {
    throw new IntegrityError(
      `${upload.file} changed since its manifest was made (sha256 ${actual}, manifest ${upload.sha256})`,
    );
  }
}

function checkEtag(what: string, etag: string | undefined, ...expected: string[]): void {
  if (!expected.includes(plainEtag(etag))) {
    throw new IntegrityError(
      `${what} arrived damaged: the store's ETag ${plainEtag(etag)} is not ${expected.join(" or ")}`,
    );
  }
}

/**
 * Uploads one file and proves it arrived whole: each request carries Content-MD5 (servers that check
 * it refuse a damaged body), each answer's ETag is compared with the MD5 of what was sent (servers
 * that do not check still report what they stored), and the bytes sent are hashed on the way and
 * compared with the manifest's sha256 before the object is completed. Files larger than the part
 * size go as a multipart upload, aborted on any failure so no parts are left behind.
 */
export async function uploadFile(client: S3Client, upload: FileUpload): Promise<void> {
  if (upload.size <= upload.partSize) await putWhole(client, upload);
  else await putInParts(client, upload);
}

async function putWhole(client: S3Client, upload: FileUpload): Promise<void> {
  const body = await readRange(upload.file, 0, upload.size);
  checkSha256(upload, createHash("sha256").update(body).digest("hex"));
  const digest = md5(body);
  const answer = await client.send(
    new PutObjectCommand({
      Bucket: upload.bucket,
      Key: upload.key,
      Body: body,
      ContentLength: upload.size,
      ContentMD5: digest.toString("base64"),
      ContentType: upload.contentType,
      Metadata: { [SHA256_METADATA]: upload.sha256 },
    }),
    { abortSignal: upload.signal },
  );
  checkEtag(upload.key, answer.ETag, digest.toString("hex"));
}

async function putInParts(client: S3Client, upload: FileUpload): Promise<void> {
  const { bucket, key } = upload;
  const created = await client.send(
    new CreateMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      ContentType: upload.contentType,
      Metadata: { [SHA256_METADATA]: upload.sha256 },
    }),
    { abortSignal: upload.signal },
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error(`the store gave no upload id for ${key}`);
  try {
    const { digests, wholeMd5 } = await sendParts(client, upload, uploadId);
    // AWS, MinIO and Ceph answer the MD5 of the parts' MD5s; some servers (s3rver) the whole object's.
    const composite = `${md5(Buffer.concat(digests)).toString("hex")}-${digests.length}`;
    const completed = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: {
          Parts: digests.map((digest, index) => ({
            PartNumber: index + 1,
            ETag: `"${digest.toString("hex")}"`,
          })),
        },
      }),
      { abortSignal: upload.signal },
    );
    checkEtag(key, completed.ETag, composite, wholeMd5);
  } catch (error) {
    // Not under the caller's signal: an aborted upload must still be cleaned up.
    // A part left behind costs storage until the bucket's lifecycle rule (if any) removes it.
    await bestEffort(
      client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })),
      upload.logger,
      `aborting the multipart upload of ${key}`,
      "warn",
    );
    throw error;
  }
}

/**
 * Reads the parts in order (so the whole file is hashed as it is read) and sends up to `concurrency`
 * at once. Returns each part's MD5, in part order, and the whole file's.
 */
async function sendParts(
  client: S3Client,
  upload: FileUpload,
  uploadId: string,
): Promise<{ digests: Buffer[]; wholeMd5: string }> {
  const count = Math.ceil(upload.size / upload.partSize);
  const digests: Buffer[] = new Array(count);
  const whole = createHash("sha256");
  const wholeMd5 = createHash("md5");
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  for (let index = 0; index < count && !failure; index += 1) {
    const offset = index * upload.partSize;
    const body = await readRange(upload.file, offset, Math.min(upload.partSize, upload.size - offset));
    whole.update(body);
    wholeMd5.update(body);
    const digest = md5(body);
    digests[index] = digest;
    const sending = sendPart(client, upload, uploadId, index + 1, body, digest)
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => inFlight.delete(sending));
    inFlight.add(sending);
    if (inFlight.size >= (upload.concurrency ?? DEFAULT_CONCURRENCY)) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure) throw failure.error;
  checkSha256(upload, whole.digest("hex"));
  return { digests, wholeMd5: wholeMd5.digest("hex") };
}

async function sendPart(
  client: S3Client,
  upload: FileUpload,
  uploadId: string,
  partNumber: number,
  body: Buffer,
  digest: Buffer,
): Promise<void> {
  for (let tries = 1; ; tries += 1) {
    const answer = await client.send(
      new UploadPartCommand({
        Bucket: upload.bucket,
        Key: upload.key,
        UploadId: uploadId,
        PartNumber: partNumber,
        Body: body,
        ContentLength: body.length,
        ContentMD5: digest.toString("base64"),
      }),
      { abortSignal: upload.signal },
    );
    try {
      checkEtag(`part ${partNumber} of ${upload.key}`, answer.ETag, digest.toString("hex"));
      return;
    } catch (error) {
      if (tries >= PART_TRIES) throw error;
    }
  }
}
