import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  type S3Client,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { bestEffort, type Logger } from "@wgp-farm/config";
import { IntegrityError, StoreSetupError, storeErrorCode } from "./storage-errors.js";
import { MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE } from "./storage-options.js";

const MIB = 1024 * 1024;

/** Part copies in flight at once (each is a request the store serves on its own). */
const COPY_CONCURRENCY = 4;

export interface ObjectCopy {
  bucket: string;
  fromKey: string;
  toKey: string;
  /** The source's size, as the caller knows it (checked against the store's). */
  size: number;
  /** Objects larger than this are copied in parts. */
  threshold: number;
  /** Bytes per part of a multipart copy (raised where S3's part limits require). */
  partSize: number;
  /** Called before each request that writes the copy: throws to stop (a publish gate's check). */
  beforeWrite?: (() => void) | undefined;
  logger?: Logger | undefined;
}

/** One part of a multipart copy: the source's bytes `first` to `last`, both included. */
export interface CopyPart {
  partNumber: number;
  first: number;
  last: number;
}

/**
 * The parts a multipart copy of `size` bytes is made of: `partSize` bytes each but the last, the size
 * raised to S3's minimum, and further where the object would otherwise need more than 10,000 parts.
 */
export function copyPartPlan(size: number, partSize: number): CopyPart[] {
  if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`cannot plan a copy of ${size} bytes`);
  const each = Math.max(partSize, MIN_PART_SIZE, Math.ceil(size / MAX_PARTS));
  if (each > MAX_PART_SIZE) {
    throw new RangeError(`${size} bytes is more than one object can hold (10,000 parts of 5 GiB)`);
  }
  const parts: CopyPart[] = [];
  for (let first = 0; first < size; first += each) {
    parts.push({ partNumber: parts.length + 1, first, last: Math.min(first + each, size) - 1 });
  }
  return parts;
}

/** `x-amz-copy-source`: the bucket and the key, each of its segments URL-encoded. */
function copySourceOf(bucket: string, key: string): string {
  return `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

/**
 * A server-side copy (no bytes through this host), the source's metadata (its sha256) and content
 * type kept: one CopyObject up to `threshold`, else a multipart copy whose parts the store copies
 * from byte ranges of the source (UploadPartCopy), only while the source is the object that was
 * looked at (its ETag), aborted on any failure so that nothing is left at the target.
 */
export async function copyObject(client: S3Client, copy: ObjectCopy): Promise<void> {
  if (copy.size <= copy.threshold) {
    copy.beforeWrite?.();
    await client.send(
      new CopyObjectCommand({
        Bucket: copy.bucket,
        Key: copy.toKey,
        CopySource: copySourceOf(copy.bucket, copy.fromKey),
      }),
    );
    return;
  }
  await copyInParts(client, copy);
}

async function copyInParts(client: S3Client, copy: ObjectCopy): Promise<void> {
  const { bucket, fromKey, toKey } = copy;
  const source = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: fromKey }));
  if (source.ContentLength !== copy.size) {
    throw new IntegrityError(`${fromKey} holds ${source.ContentLength} bytes, not the ${copy.size} expected`);
  }
  const plan = copyPartPlan(copy.size, copy.partSize);
  copy.beforeWrite?.();
  // A multipart copy does not carry the source's metadata over: it is given at creation.
  const created = await client.send(
    new CreateMultipartUploadCommand({
      Bucket: bucket,
      Key: toKey,
      ContentType: source.ContentType,
      Metadata: source.Metadata,
    }),
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error(`the store gave no upload id for ${toKey}`);
  try {
    const etags = await inParallel(plan, COPY_CONCURRENCY, async (part) => {
      copy.beforeWrite?.();
      const answer = await client.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: toKey,
          UploadId: uploadId,
          PartNumber: part.partNumber,
          CopySource: copySourceOf(bucket, fromKey),
          CopySourceRange: `bytes=${part.first}-${part.last}`,
          CopySourceIfMatch: source.ETag,
        }),
      );
      const etag = answer.CopyPartResult?.ETag;
      if (!etag) throw new Error(`the store gave no ETag for part ${part.partNumber} of ${toKey}`);
      return etag;
    });
    copy.beforeWrite?.();
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: toKey,
        UploadId: uploadId,
        MultipartUpload: { Parts: etags.map((ETag, index) => ({ PartNumber: index + 1, ETag })) },
      }),
    );
    const copied = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: toKey }));
    if (copied.ContentLength !== copy.size) {
      throw new IntegrityError(`${toKey} holds ${copied.ContentLength} bytes after a copy of ${copy.size}`);
    }
  } catch (error) {
    await bestEffort(
      client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: toKey, UploadId: uploadId })),
      copy.logger,
      `aborting the multipart copy to ${toKey}`,
      "warn",
    );
    if (storeErrorCode(error) !== "NotImplemented") throw error;
    throw new StoreSetupError(
      `the store does not implement UploadPartCopy, which copying objects over ` +
        `${Math.round(copy.threshold / MIB)} MiB needs (${fromKey}: ${copy.size} bytes); ` +
        "use a store that does (AWS S3, MinIO, Ceph, R2, Backblaze B2)",
      "unsupported",
      { cause: error },
    );
  }
}

/**
 * `work` for each item, `limit` at a time, answers in the items' order. A failure stops new work;
 * what is in flight is let finish (so that nothing writes after the caller cleans up), then the
 * first failure is thrown.
 */
async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const answers: R[] = new Array(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const runner = async () => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        answers[index] = await work(items[index] as T);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, runner));
  if (failure) throw failure.error;
  return answers;
}
