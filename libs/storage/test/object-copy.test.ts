import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  Bucket,
  type CopyPart,
  copyPartPlan,
  DEFAULT_COPY_PART_SIZE,
  MAX_PART_SIZE,
  MAX_PARTS,
  MIN_PART_SIZE,
  StoreSetupError,
} from "../src/index.js";
import { S3RVER_CREDENTIALS, S3TestServer } from "../src/test-server/index.js";

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/** The plan covers the object once, in order, with parts S3 accepts. */
function expectValidPlan(parts: CopyPart[], size: number): void {
  expect(parts.length).toBeLessThanOrEqual(MAX_PARTS);
  expect(parts[0]?.first).toBe(0);
  expect(parts.at(-1)?.last).toBe(size - 1);
  for (const [index, part] of parts.entries()) {
    expect(part.partNumber).toBe(index + 1);
    if (index > 0) expect(part.first).toBe((parts[index - 1]?.last ?? 0) + 1);
    const length = part.last - part.first + 1;
    expect(length).toBeLessThanOrEqual(MAX_PART_SIZE);
    if (index < parts.length - 1) expect(length).toBeGreaterThanOrEqual(MIN_PART_SIZE);
  }
}

describe("the part plan of a multipart copy", () => {
  it("cuts an object just over 5 GiB into parts of the copy part size, the last one smaller", () => {
    const size = 5 * GIB + 1;
    const parts = copyPartPlan(size, DEFAULT_COPY_PART_SIZE);
    expectValidPlan(parts, size);
    expect(parts).toHaveLength(11);
    expect(parts.at(-1)).toEqual({ partNumber: 11, first: 5 * GIB, last: 5 * GIB });
  });

  it("makes no empty last part when the size is a multiple of the part size", () => {
    const parts = copyPartPlan(3 * MIN_PART_SIZE, MIN_PART_SIZE);
    expectValidPlan(parts, 3 * MIN_PART_SIZE);
    expect(parts).toHaveLength(3);
  });

  it("raises parts under S3's minimum to 5 MiB", () => {
    const parts = copyPartPlan(12 * MIB, MIB);
    expectValidPlan(parts, 12 * MIB);
    expect(parts.map((part) => part.last - part.first + 1)).toEqual([5 * MIB, 5 * MIB, 2 * MIB]);
  });

  it("raises the part size so that the largest object S3 holds (5 TiB) fits in 10,000 parts", () => {
    const size = 5 * 1024 * GIB;
    const parts = copyPartPlan(size, DEFAULT_COPY_PART_SIZE);
    expectValidPlan(parts, size);
    expect(parts).toHaveLength(MAX_PARTS);
  });

  it("refuses what no object can be", () => {
    expect(() => copyPartPlan(MAX_PARTS * MAX_PART_SIZE + 1, DEFAULT_COPY_PART_SIZE)).toThrow(RangeError);
    expect(() => copyPartPlan(0, DEFAULT_COPY_PART_SIZE)).toThrow(RangeError);
  });
});

/** A bucket of `server` whose copies go in parts above 1 MiB, 5 MiB each (S3's minimum). */
function smallCopyBucket(server: S3TestServer, name: string): Bucket {
  return new Bucket(
    { bucket: name, prefix: "" },
    { ...server.settings, s3CopyThreshold: MIB, s3CopyPartSize: MIN_PART_SIZE },
    { setting: "--output-store", credentials: S3RVER_CREDENTIALS },
  );
}

describe("Bucket.copy against s3rver (the @20minutes fork, which implements UploadPartCopy)", () => {
  const BUCKET = "copies";
  let server: S3TestServer;
  let bucket: Bucket;
  let folder: string;
  /** The names of the requests the bucket's client sent, in order. */
  const sent: string[] = [];

  beforeAll(async () => {
    server = await S3TestServer.start({ buckets: [BUCKET], withUploadPartCopy: true });
    bucket = smallCopyBucket(server, BUCKET);
    bucket.client.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push(context.commandName ?? "?");
        return next(args);
      },
      { step: "initialize", name: "recordSentCommands" },
    );
    folder = await mkdtemp(path.join(os.tmpdir(), "wgp-farm-copy-test-"));
  });
  beforeEach(() => {
    sent.length = 0;
  });
  afterAll(async () => {
    bucket?.close();
    await server?.stop();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  /** Uploads `size` random bytes as a video (its sha256 as metadata); answers their sha256. */
  async function storedVideo(key: string, size: number): Promise<string> {
    const bytes = randomBytes(size);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const file = path.join(folder, path.basename(key));
    await writeFile(file, bytes);
    await bucket.upload(key, { path: file, size, sha256, contentType: "video/mp4" });
    return sha256;
  }

  async function contentSha256(key: string): Promise<string> {
    const answer = await bucket.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const bytes = await answer.Body?.transformToByteArray();
    return createHash("sha256")
      .update(bytes ?? new Uint8Array())
      .digest("hex");
  }

  it("copies an object up to the threshold in one request, its sha256 metadata kept", async () => {
    await bucket.putText("staging/small.json", '{"small": true}\n');
    const stored = await bucket.head("staging/small.json");
    await bucket.copy("staging/small.json", "final/small.json", stored?.size ?? 0);
    expect(await bucket.head("final/small.json")).toEqual(stored);
  });

  it("copies an object over the threshold part by part: the same bytes, its sha256 and content type kept, the gate asked before each write", async () => {
    const size = 12 * MIB;
    const sha256 = await storedVideo("staging/large.mp4", size);
    sent.length = 0;
    let writes = 0;
    await bucket.copy("staging/large.mp4", "final/large.mp4", size, () => {
      writes += 1;
    });
    // Parts of 5, 5 and 2 MiB, each copied by the store from a byte range of the source.
    expect(sent.filter((name) => name === "UploadPartCopyCommand")).toHaveLength(3);
    expect(sent).toContain("CompleteMultipartUploadCommand");
    // Before the upload's creation, before each of the 3 parts, before its completion.
    expect(writes).toBe(5);
    expect(await contentSha256("final/large.mp4")).toBe(sha256);
    expect((await bucket.head("final/large.mp4"))?.sha256).toBe(sha256);
    const copied = await bucket.client.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: "final/large.mp4" }),
    );
    expect(copied.ContentType).toBe("video/mp4");
    expect(copied.ContentLength).toBe(size);
  });

  it("leaves nothing under the final key when the gate is lost mid-copy, and aborts the upload", async () => {
    const size = 12 * MIB;
    await storedVideo("staging/lost.mp4", size);
    sent.length = 0;
    const lost = new Error("the publish lease ran out");
    let writes = 0;
    const failure = await bucket
      .copy("staging/lost.mp4", "final/lost.mp4", size, () => {
        writes += 1;
        // The upload's creation and its first part go through; the second part finds the gate lost.
        if (writes > 2) throw lost;
      })
      .catch((error: unknown) => error);
    expect(failure).toBe(lost);
    expect(sent.filter((name) => name === "UploadPartCopyCommand")).toHaveLength(1);
    expect(sent).not.toContain("CompleteMultipartUploadCommand");
    expect(sent.at(-1)).toBe("AbortMultipartUploadCommand");
    expect(await bucket.head("final/lost.mp4")).toBeUndefined();
  });

  it("stops a multipart copy before it writes anything when the gate refuses", async () => {
    await bucket.putText("staging/gated.bin", "y".repeat(2 * MIB), "application/octet-stream");
    const refused = new Error("the publish lease ran out");
    await expect(
      bucket.copy("staging/gated.bin", "final/gated.bin", 2 * MIB, () => {
        throw refused;
      }),
    ).rejects.toBe(refused);
    expect(await bucket.head("final/gated.bin")).toBeUndefined();
  });
});

describe("Bucket.copy against a store without UploadPartCopy (s3rver 3.7.1)", () => {
  const BUCKET = "copies";
  let server: S3TestServer;
  let bucket: Bucket;

  beforeAll(async () => {
    server = await S3TestServer.start({ buckets: [BUCKET] });
    bucket = smallCopyBucket(server, BUCKET);
  });
  afterAll(async () => {
    bucket?.close();
    await server?.stop();
  });

  it("says the store cannot copy over the threshold, leaving nothing at the target", async () => {
    const text = "x".repeat(2 * MIB);
    await bucket.putText("staging/large.bin", text, "application/octet-stream");
    let writes = 0;
    const failure = await bucket
      .copy("staging/large.bin", "final/large.bin", text.length, () => {
        writes += 1;
      })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StoreSetupError);
    expect((failure as StoreSetupError).problem).toBe("unsupported");
    expect(String(failure)).toContain("the store does not implement UploadPartCopy");
    // The gate was asked before creating the upload and before the part the store refused.
    expect(writes).toBe(2);
    expect(await bucket.head("final/large.bin")).toBeUndefined();
  });
});
