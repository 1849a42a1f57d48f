import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

describe("Bucket.copy against s3rver", () => {
  const BUCKET = "copies";
  let server: S3TestServer;
  let bucket: Bucket;

  beforeAll(async () => {
    server = await S3TestServer.start({ buckets: [BUCKET] });
    // A copy threshold of 1 MiB: the multipart path is taken by small objects.
    bucket = new Bucket(
      { bucket: BUCKET, prefix: "" },
      { ...server.settings, s3CopyThreshold: MIB, s3CopyPartSize: MIN_PART_SIZE },
      { setting: "--output-store", credentials: S3RVER_CREDENTIALS },
    );
  });
  afterAll(async () => {
    bucket?.close();
    await server?.stop();
  });

  it("copies an object up to the threshold in one request, its sha256 metadata kept", async () => {
    await bucket.putText("staging/small.json", '{"small": true}\n');
    const stored = await bucket.head("staging/small.json");
    await bucket.copy("staging/small.json", "final/small.json", stored?.size ?? 0);
    expect(await bucket.head("final/small.json")).toEqual(stored);
  });

  it("says a store without UploadPartCopy (s3rver) cannot copy over the threshold, leaving nothing at the target", async () => {
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
