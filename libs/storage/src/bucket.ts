import { createHash } from "node:crypto";
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { AwsCredentialIdentity } from "@aws-sdk/types";
import type { Logger } from "@wgp-farm/config";
import { headObject, presignedLink, type StoredObject } from "./object-links.js";
import { SHA256_METADATA, uploadFile } from "./object-upload.js";
import { createS3Client } from "./s3-client.js";
import { keyUnder, parseS3Url, type S3Location, s3UrlOf } from "./s3-location.js";
import { explainStoreError, IntegrityError, type StoreContext } from "./storage-errors.js";
import { DEFAULT_LINK_TTL_MS, DEFAULT_PART_SIZE, type S3Settings } from "./storage-options.js";

/** The largest object one CopyObject request copies. */
const COPY_LIMIT = 5 * 1024 ** 3;
/** Keys per DeleteObjects request (S3's limit). */
const DELETE_BATCH = 1000;

export interface ListedObject {
  key: string;
  size: number;
  lastModified: Date | undefined;
}

export interface BucketOptions {
  /** The option that named the location, for error messages (`--output-store`). */
  setting: string;
  credentials?: AwsCredentialIdentity;
  maxAttempts?: number;
  logger?: Logger | undefined;
}

/**
 * One `s3://bucket/prefix` location and the operations the farm needs on it, every failure explained
 * for the operator (a missing bucket, refused credentials and an unreachable store name the setting).
 * Keys given to its methods are full keys; `keyOf` builds them under the prefix.
 */
export class Bucket {
  readonly location: S3Location;
  readonly client: S3Client;
  readonly #settings: S3Settings;
  readonly #context: StoreContext;
  readonly #logger: Logger | undefined;

  constructor(location: S3Location, settings: S3Settings, options: BucketOptions) {
    this.location = location;
    this.#settings = settings;
    this.client = createS3Client(settings, options);
    this.#context = {
      url: s3UrlOf(location),
      bucket: location.bucket,
      setting: options.setting,
      endpoint: settings.s3Endpoint,
    };
    this.#logger = options.logger;
  }

  /** Opens `url` and checks at once that the bucket exists and takes these credentials. */
  static async open(url: string, settings: S3Settings, options: BucketOptions): Promise<Bucket> {
    const bucket = new Bucket(parseS3Url(url, options.setting), settings, options);
    try {
      // A listing rather than HeadBucket: its errors have a body that says which (NoSuchBucket,
      // InvalidAccessKeyId…), and the farm needs the right to list anyway (sweeps, clean).
      await bucket.#explained(
        bucket.client.send(
          new ListObjectsV2Command({ Bucket: bucket.location.bucket, Prefix: bucket.keyOf(), MaxKeys: 1 }),
        ),
      );
    } catch (error) {
      bucket.close();
      throw error;
    }
    return bucket;
  }

  get url(): string {
    return this.#context.url;
  }

  keyOf(...relative: string[]): string {
    return keyUnder(this.location, ...relative);
  }

  urlOf(key: string): string {
    return s3UrlOf(this.location, key);
  }

  /** Uploads a local file whose sha256 is known (multipart above the part size; see uploadFile). */
  async upload(
    key: string,
    file: { path: string; size: number; sha256: string; contentType?: string },
  ): Promise<void> {
    await this.#explained(
      uploadFile(this.client, {
        bucket: this.location.bucket,
        key,
        file: file.path,
        size: file.size,
        sha256: file.sha256,
        contentType: file.contentType,
        partSize: this.#settings.s3PartSize ?? DEFAULT_PART_SIZE,
        logger: this.#logger,
      }),
    );
  }

  /** Writes a small object in one request, checked like an upload (Content-MD5 and ETag). */
  async putText(key: string, text: string, contentType = "application/json"): Promise<void> {
    const body = Buffer.from(text);
    const md5 = createHash("md5").update(body).digest();
    const answer = await this.#explained(
      this.client.send(
        new PutObjectCommand({
          Bucket: this.location.bucket,
          Key: key,
          Body: body,
          ContentMD5: md5.toString("base64"),
          ContentType: contentType,
          Metadata: { [SHA256_METADATA]: createHash("sha256").update(body).digest("hex") },
        }),
      ),
    );
    if ((answer.ETag ?? "").replaceAll('"', "") !== md5.toString("hex")) {
      throw new IntegrityError(`${key} arrived damaged (its ETag is not the MD5 that was sent)`);
    }
  }

  /** A small object's text; undefined when there is no such object. */
  async getText(key: string): Promise<string | undefined> {
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: key }));
      return await answer.Body?.transformToString();
    } catch (error) {
      if ((error as { name?: string }).name === "NoSuchKey") return undefined;
      throw explainStoreError(error, this.#context);
    }
  }

  async head(key: string): Promise<StoredObject | undefined> {
    return this.#explained(headObject(this.client, this.location.bucket, key));
  }

  /** A server-side copy (no bytes through this host), metadata kept. */
  async copy(fromKey: string, toKey: string, size: number): Promise<void> {
    if (size > COPY_LIMIT) {
      throw new Error(`${fromKey}: objects over 5 GiB cannot be copied in one request (not supported yet)`);
    }
    await this.#explained(
      this.client.send(
        new CopyObjectCommand({
          Bucket: this.location.bucket,
          Key: toKey,
          CopySource: `${this.location.bucket}/${fromKey.split("/").map(encodeURIComponent).join("/")}`,
        }),
      ),
    );
  }

  /** Every object under `prefix` (a full key prefix). */
  async list(prefix: string): Promise<ListedObject[]> {
    const listed: ListedObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.#explained(
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.location.bucket,
            Prefix: prefix,
            ContinuationToken: token,
          }),
        ),
      );
      for (const entry of page.Contents ?? []) {
        if (entry.Key)
          listed.push({ key: entry.Key, size: entry.Size ?? 0, lastModified: entry.LastModified });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return listed;
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let start = 0; start < keys.length; start += DELETE_BATCH) {
      const batch = keys.slice(start, start + DELETE_BATCH);
      const answer = await this.#explained(
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.location.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
      const failed = answer.Errors ?? [];
      if (failed.length > 0) {
        throw new Error(
          `the store kept ${failed.length} objects it was asked to delete (${failed[0]?.Code})`,
        );
      }
    }
  }

  link(key: string, ttlMs = this.#settings.s3LinkTtlMs ?? DEFAULT_LINK_TTL_MS): Promise<string> {
    return presignedLink(this.client, this.location.bucket, key, ttlMs);
  }

  close(): void {
    this.client.destroy();
  }

  async #explained<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      throw explainStoreError(error, this.#context);
    }
  }
}
