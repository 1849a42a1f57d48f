import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { MIN_PART_SIZE, type S3Settings, StoreSetupError, StoreUnavailableError } from "@wgp-farm/storage";
import { FaultyLink, S3RVER_CREDENTIALS } from "@wgp-farm/storage/test-server";
import { temporaryDir } from "@wgp-farm/testing";
import { describe, expect, it } from "vitest";
import { JobLostError } from "../src/job/publish-fence.js";
import { type PublishGate, STAGING_DIR_NAME, type StagedOutput } from "../src/output/output-publisher.js";
import { S3ResultStore } from "../src/output/s3-result-store.js";
import { bucketServerForFile, onCleanup, silent } from "./support.js";

const BUCKET = "farm-results";
const s3 = bucketServerForFile(BUCKET);

/** A gate that grants the claim (or refuses it) and lets `checks` renames through before the lease runs out. */
function testGate(options: { refuse?: boolean; checks?: number } = {}): PublishGate & { claimed: boolean } {
  let checks = options.checks ?? Number.POSITIVE_INFINITY;
  return {
    claimed: false,
    async claim() {
      if (options.refuse) throw new JobLostError("another attempt holds the job's lock");
      this.claimed = true;
    },
    check() {
      if (!this.claimed) throw new JobLostError("publishing without a publish claim");
      if (checks <= 0) throw new JobLostError("the publish lease ran out");
      checks -= 1;
    },
  };
}

async function openStore(prefix: string, settings: Partial<S3Settings> = {}): Promise<S3ResultStore> {
  const { dir, remove } = await temporaryDir("s3-store");
  const store = await S3ResultStore.open(
    path.join(dir, "out"),
    `s3://${BUCKET}/${prefix}`,
    { ...s3.server.settings, s3PartSize: MIN_PART_SIZE, ...settings },
    silent,
  );
  onCleanup(async () => {
    await store.close();
    await remove();
  });
  return store;
}

let tokens = 0;

/** Stages an attempt and writes the engine's files into it; returns the manifest's documents. */
async function stagedAttempt(
  store: S3ResultStore,
  taskId: string,
  files: Record<string, number>,
): Promise<{ staged: StagedOutput; documents: Record<string, unknown> }> {
  tokens += 1;
  const staged = store.stage({ task_id: taskId, queue: "wgp-model-t2v", token: `token-${tokens}` });
  await staged.ready;
  await mkdir(staged.filesDir, { recursive: true });
  const paths: string[] = [];
  for (const [name, size] of Object.entries(files)) {
    const file = path.join(staged.filesDir, name);
    await writeFile(file, randomBytes(size));
    paths.push(file);
  }
  const described = await store.describe(staged, paths);
  return {
    staged,
    documents: { "task.json": { task_id: taskId }, "result.json": { task_id: taskId, files: described } },
  };
}

async function sha256Stored(key: string): Promise<string> {
  const link = await s3.bucket.link(key);
  const body = Buffer.from(await (await fetch(link)).arrayBuffer());
  return createHash("sha256").update(body).digest("hex");
}

describe("S3ResultStore", () => {
  it("publishes the files and result.json under the task's prefix, checks them, and removes every staging", async () => {
    const store = await openStore("p1");
    const { staged, documents } = await stagedAttempt(store, "t-1", { "t-1.mp4": 200_000, "t-1.png": 1_000 });
    const target = await store.publish(staged, "shots/t-1", documents, testGate());

    expect(target).toBe(`s3://${BUCKET}/p1/shots/t-1`);
    expect(await s3.keysUnder("p1/")).toEqual([
      "p1/shots/t-1/result.json",
      "p1/shots/t-1/t-1.mp4",
      "p1/shots/t-1/t-1.png",
      "p1/shots/t-1/task.json",
    ]);
    const manifest = JSON.parse((await s3.bucket.getText("p1/shots/t-1/result.json")) ?? "{}");
    for (const file of manifest.files) {
      expect(await s3.bucket.head(`p1/shots/t-1/${file.name}`)).toMatchObject({
        size: file.size,
        sha256: file.sha256,
      });
    }
    await expect(readdir(staged.dir)).rejects.toThrow(/ENOENT/);
  });

  it("uploads a file over the part size in parts", async () => {
    const store = await openStore("p2");
    const { staged, documents } = await stagedAttempt(store, "big", { "big.mp4": MIN_PART_SIZE + 4321 });
    await store.publish(staged, "big", documents, testGate());
    const [file] = (documents["result.json"] as { files: { name: string; sha256: string }[] }).files;
    expect(await sha256Stored("p2/big/big.mp4")).toBe(file?.sha256);
  });

  it("replaces a previous result: its other files go, the new manifest comes", async () => {
    const store = await openStore("p3");
    const first = await stagedAttempt(store, "again", { "old.mp4": 1000 });
    await store.publish(first.staged, "again", first.documents, testGate());
    const second = await stagedAttempt(store, "again", { "new.mp4": 2000 });
    await store.publish(second.staged, "again", second.documents, testGate());
    expect(await s3.keysUnder("p3/")).toEqual([
      "p3/again/new.mp4",
      "p3/again/result.json",
      "p3/again/task.json",
    ]);
  });

  it("publishes nothing for an attempt whose claim is refused (it lost its job), and leaves no staging", async () => {
    const store = await openStore("p4");
    const { staged, documents } = await stagedAttempt(store, "lost", { "lost.mp4": 5000 });
    await expect(store.publish(staged, "lost", documents, testGate({ refuse: true }))).rejects.toThrow(
      JobLostError,
    );
    expect(await s3.keysUnder("p4/")).toEqual([]);
  });

  it("never leaves a result that looks complete when the lease runs out half way: the manifest comes last", async () => {
    const store = await openStore("p5");
    const { staged, documents } = await stagedAttempt(store, "half", { "a.mp4": 1000, "b.mp4": 1000 });
    await expect(store.publish(staged, "half", documents, testGate({ checks: 1 }))).rejects.toThrow(
      JobLostError,
    );
    const keys = await s3.keysUnder("p5/half/");
    expect(keys.length).toBeGreaterThan(0);
    expect(keys).not.toContain("p5/half/result.json");
  });

  it("copies a file over the copy threshold in parts; a store without UploadPartCopy (s3rver) gets no manifest", async () => {
    const store = await openStore("p9", { s3CopyThreshold: 100_000, s3CopyPartSize: MIN_PART_SIZE });
    const { staged, documents } = await stagedAttempt(store, "huge", {
      "small.png": 1000,
      "huge.mp4": 200_000,
    });
    const failure = await store
      .publish(staged, "huge", documents, testGate())
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StoreSetupError);
    expect(String(failure)).toContain("the store does not implement UploadPartCopy");
    expect(await s3.keysUnder("p9/huge/")).not.toContain("p9/huge/result.json");
    expect(await s3.keysUnder("p9/huge/")).not.toContain("p9/huge/huge.mp4");
    expect(await s3.keysUnder(`p9/${STAGING_DIR_NAME}/`)).toEqual([]);
  });

  it("publishes nothing half when the network to the store is cut mid-upload, and the retry publishes once", async () => {
    const link = await FaultyLink.open(s3.server.port);
    onCleanup(() => link.close());
    const store = await openStore("p6", { s3Endpoint: link.endpoint });
    const failed = await stagedAttempt(store, "cut", { "cut.mp4": 2 * MIN_PART_SIZE });
    link.cutAfter(MIN_PART_SIZE);
    const failure = await store
      .publish(failed.staged, "cut", failed.documents, testGate())
      .catch((error) => error);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    await store.discard(failed.staged);
    link.restore();
    expect(await s3.keysUnder("p6/cut/")).toEqual([]);

    const retry = await stagedAttempt(store, "cut", { "cut.mp4": 2 * MIN_PART_SIZE });
    await store.publish(retry.staged, "cut", retry.documents, testGate());
    expect(await s3.keysUnder("p6/cut/")).toEqual([
      "p6/cut/cut.mp4",
      "p6/cut/result.json",
      "p6/cut/task.json",
    ]);
    // What the cut attempt left in its remote staging goes with the next sweep (its owner holds nothing).
    await store.sweep(async () => false);
    expect(await s3.keysUnder(`p6/${STAGING_DIR_NAME}/`)).toEqual([]);
  });

  it("publishes nothing half when the store's process dies mid-upload, and publishes once after it is back", async () => {
    const store = await openStore("p7", { s3PartSize: MIN_PART_SIZE });
    const failed = await stagedAttempt(store, "crash", { "crash.mp4": 6 * MIN_PART_SIZE });
    const publishing = store
      .publish(failed.staged, "crash", failed.documents, testGate())
      .catch((error) => error);
    // Killed once the upload is under way (its remote staging owner is the first thing written).
    for (let i = 0; i < 200 && (await s3.keysUnder(`p7/${STAGING_DIR_NAME}/`)).length === 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await s3.server.stop({ signal: "SIGKILL", removeData: false });
    expect(await publishing).toBeInstanceOf(StoreUnavailableError);
    await s3.server.restart();
    expect(await s3.keysUnder("p7/crash/")).toEqual([]);

    const retry = await stagedAttempt(store, "crash", { "crash.mp4": MIN_PART_SIZE + 1 });
    await store.publish(retry.staged, "crash", retry.documents, testGate());
    expect(await s3.keysUnder("p7/crash/")).toEqual([
      "p7/crash/crash.mp4",
      "p7/crash/result.json",
      "p7/crash/task.json",
    ]);
  });

  it("keeps the remote staging of an attempt that still holds its job, and removes the others", async () => {
    const store = await openStore("p8");
    const held = await stagedAttempt(store, "held", { "held.mp4": 100 });
    const gone = await stagedAttempt(store, "gone", { "gone.mp4": 100 });
    for (const attempt of [held, gone]) {
      const stagingName = path.basename(attempt.staged.dir);
      await s3.bucket.putText(
        `p8/${STAGING_DIR_NAME}/${stagingName}/owner.json`,
        JSON.stringify(attempt.staged.owner),
      );
      await s3.bucket.putText(`p8/${STAGING_DIR_NAME}/${stagingName}/files/x`, "x");
    }
    await store.sweep(async (owner) => owner.task_id === "held");
    const left = await s3.keysUnder(`p8/${STAGING_DIR_NAME}/`);
    expect(left.length).toBe(2);
    expect(left.every((key) => key.includes(path.basename(held.staged.dir)))).toBe(true);
  });

  it("refuses to open a missing bucket, naming --output-store", async () => {
    const { dir, remove } = await temporaryDir("s3-store");
    onCleanup(remove);
    const failure = await S3ResultStore.open(dir, "s3://no-such-bucket/x", s3.server.settings, silent).catch(
      (e) => e,
    );
    expect(failure).toBeInstanceOf(StoreSetupError);
    expect(String(failure)).toMatch(
      /--output-store s3:\/\/no-such-bucket\/x: the bucket 'no-such-bucket' does not exist/,
    );
  });

  it("refuses to open with wrong credentials, naming where credentials come from", async () => {
    const { dir, remove } = await temporaryDir("s3-store");
    onCleanup(remove);
    Object.assign(
      process.env,
      s3.server.env({ accessKeyId: "WRONG", secretAccessKey: S3RVER_CREDENTIALS.secretAccessKey }),
    );
    onCleanup(async () => Object.assign(process.env, s3.server.env()));
    const failure = await S3ResultStore.open(dir, `s3://${BUCKET}/x`, s3.server.settings, silent).catch(
      (e) => e,
    );
    expect(failure).toBeInstanceOf(StoreSetupError);
    expect(String(failure)).toMatch(/refused the credentials.*AWS_ACCESS_KEY_ID/);
  });
});
