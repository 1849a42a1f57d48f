import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Bucket,
  createS3Client,
  explainStoreError,
  headObject,
  IntegrityError,
  MIN_PART_SIZE,
  presignedLink,
  StoreSetupError,
  StoreUnavailableError,
  uploadFile,
} from "../src/index.js";
import { FaultyLink, S3RVER_CREDENTIALS, S3TestServer } from "../src/test-server/index.js";

const BUCKET = "results";
let server: S3TestServer;
let client: S3Client;
let folder: string;

beforeAll(async () => {
  server = await S3TestServer.start({ buckets: [BUCKET] });
  client = createS3Client(server.settings, { credentials: S3RVER_CREDENTIALS });
  folder = await mkdtemp(path.join(os.tmpdir(), "wgp-farm-storage-test-"));
});

afterAll(async () => {
  client?.destroy();
  await server?.stop();
  if (folder) await rm(folder, { recursive: true, force: true });
});

async function localFile(
  name: string,
  size: number,
): Promise<{ file: string; size: number; sha256: string }> {
  const bytes = randomBytes(size);
  const file = path.join(folder, name);
  await writeFile(file, bytes);
  return { file, size, sha256: createHash("sha256").update(bytes).digest("hex") };
}

async function storedSha256(target: S3Client, key: string): Promise<string> {
  const answer = await target.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const bytes = await answer.Body?.transformToByteArray();
  return createHash("sha256")
    .update(bytes ?? new Uint8Array())
    .digest("hex");
}

describe("uploadFile against s3rver", () => {
  it("uploads a small file in one request, with its sha256 as metadata and a working presigned link", async () => {
    const local = await localFile("small.bin", 300_000);
    await uploadFile(client, { bucket: BUCKET, key: "a/small.bin", partSize: MIN_PART_SIZE, ...local });
    expect(await headObject(client, BUCKET, "a/small.bin")).toMatchObject({
      size: local.size,
      sha256: local.sha256,
    });
    const link = await presignedLink(client, BUCKET, "a/small.bin", 60_000);
    const fetched = await fetch(link);
    expect(fetched.status).toBe(200);
    expect(
      createHash("sha256")
        .update(Buffer.from(await fetched.arrayBuffer()))
        .digest("hex"),
    ).toBe(local.sha256);
  });

  it("uploads a file over the part size in parts ", async () => {
    const local = await localFile("large.bin", 2 * MIN_PART_SIZE + 12_345);
    await uploadFile(client, { bucket: BUCKET, key: "a/large.bin", partSize: MIN_PART_SIZE, ...local });
    expect(await headObject(client, BUCKET, "a/large.bin")).toMatchObject({
      size: local.size,
      sha256: local.sha256,
    });
    expect(await storedSha256(client, "a/large.bin")).toBe(local.sha256);
  });

  it("refuses a file whose bytes differ from its manifest's sha256", async () => {
    const local = await localFile("changed.bin", MIN_PART_SIZE + 10);
    const wrong = "0".repeat(64);
    await expect(
      uploadFile(client, {
        bucket: BUCKET,
        key: "a/changed.bin",
        partSize: MIN_PART_SIZE,
        ...local,
        sha256: wrong,
      }),
    ).rejects.toThrow(IntegrityError);
    expect(await headObject(client, BUCKET, "a/changed.bin")).toBeUndefined();
  });

  it("notices a part damaged in transit (the store's ETag) and sends it again", async () => {
    const link = await FaultyLink.open(server.port);
    const viaLink = createS3Client(
      { ...server.settings, s3Endpoint: link.endpoint },
      { credentials: S3RVER_CREDENTIALS },
    );
    try {
      const local = await localFile("damaged.bin", 2 * MIN_PART_SIZE);
      link.corruptAfter(MIN_PART_SIZE / 2);
      await uploadFile(viaLink, { bucket: BUCKET, key: "a/damaged.bin", partSize: MIN_PART_SIZE, ...local });
      expect(link.corrupted).toBe(1);
      expect(await storedSha256(client, "a/damaged.bin")).toBe(local.sha256);
    } finally {
      viaLink.destroy();
      await link.close();
    }
  });

  it("names the credentials' sources when the store refuses them", async () => {
    const wrong = createS3Client(server.settings, {
      credentials: { accessKeyId: "WRONG", secretAccessKey: "WRONG" },
      maxAttempts: 1,
    });
    try {
      const local = await localFile("refused.bin", 1000);
      const failure = await uploadFile(wrong, {
        bucket: BUCKET,
        key: "a/refused.bin",
        partSize: MIN_PART_SIZE,
        ...local,
      }).catch((error: unknown) =>
        explainStoreError(error, { url: "s3://results/a", bucket: BUCKET, setting: "--output-store" }),
      );
      expect(failure).toBeInstanceOf(StoreSetupError);
      expect(String(failure)).toMatch(
        /--output-store s3:\/\/results\/a: the store refused the credentials.*AWS_ACCESS_KEY_ID/,
      );
    } finally {
      wrong.destroy();
    }
  });

  it("opens a location that already holds results: a listing longer than one page", async () => {
    for (const name of ["one", "two", "three"]) {
      const local = await localFile(`${name}.bin`, 1000);
      await uploadFile(client, {
        bucket: BUCKET,
        key: `held/${name}.bin`,
        partSize: MIN_PART_SIZE,
        ...local,
      });
    }
    // Bucket.open lists one key: s3rver answers the first page with a continuation token.
    const bucket = await Bucket.open(`s3://${BUCKET}/held`, server.settings, {
      setting: "--output-store",
      credentials: S3RVER_CREDENTIALS,
    });
    try {
      expect((await bucket.list("held/")).map((object) => object.key)).toEqual([
        "held/one.bin",
        "held/three.bin",
        "held/two.bin",
      ]);
    } finally {
      bucket.close();
    }
  });

  it("names the bucket and the setting when the bucket does not exist", async () => {
    const local = await localFile("nobucket.bin", 1000);
    const failure = await uploadFile(client, {
      bucket: "missing-bucket",
      key: "x",
      partSize: MIN_PART_SIZE,
      ...local,
    }).catch((error: unknown) =>
      explainStoreError(error, {
        url: "s3://missing-bucket/x",
        bucket: "missing-bucket",
        setting: "--output-store",
      }),
    );
    expect(failure).toBeInstanceOf(StoreSetupError);
    expect(String(failure)).toContain(
      "--output-store s3://missing-bucket/x: the bucket 'missing-bucket' does not exist",
    );
  });

  it("reports an unreachable store as unavailable (retryable), naming the endpoint", async () => {
    const link = await FaultyLink.open(server.port);
    const viaLink = createS3Client(
      { ...server.settings, s3Endpoint: link.endpoint },
      { credentials: S3RVER_CREDENTIALS, maxAttempts: 1 },
    );
    try {
      const local = await localFile("cut.bin", 2 * MIN_PART_SIZE);
      link.cutAfter(MIN_PART_SIZE);
      const failure = await uploadFile(viaLink, {
        bucket: BUCKET,
        key: "a/cut.bin",
        partSize: MIN_PART_SIZE,
        ...local,
      }).catch((error: unknown) =>
        explainStoreError(error, {
          url: "s3://results/a",
          bucket: BUCKET,
          setting: "--output-store",
          endpoint: link.endpoint,
        }),
      );
      expect(failure).toBeInstanceOf(StoreUnavailableError);
      expect(String(failure)).toContain(`cannot reach --s3-endpoint ${link.endpoint}`);
      expect(await headObject(client, BUCKET, "a/cut.bin")).toBeUndefined();
    } finally {
      viaLink.destroy();
      await link.close();
    }
  });
});
