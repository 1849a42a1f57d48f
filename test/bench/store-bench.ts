/**
 * Results to a bucket: what publishing one large output costs with `--output-store s3://…` against
 * the shared-folder store, on loopback (s3rver, the test server, as its own process). Measures the raw
 * upload throughput (multipart, checked by Content-MD5/ETag and the manifest's sha256), and the time
 * the S3 store's whole publish (upload to the attempt's staging prefix, claim, server-side copy,
 * result.json last, staging removed) adds to a job over the folder store's rename.
 *
 *   node test/bench/store-bench.ts [--size-mib 1024] [--runs 2]
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Bucket } from "@wgp-farm/storage";
import { S3RVER_CREDENTIALS, S3TestServer } from "@wgp-farm/storage/test-server";
import { OutputPublisher, type ResultStore, S3ResultStore } from "@wgp-farm/worker";
import { median, printBenchResult } from "./bench-result.ts";

const { values } = parseArgs({
  options: { "size-mib": { type: "string", default: "1024" }, runs: { type: "string", default: "2" } },
});
const sizeMib = Number(values["size-mib"]);
const runs = Number(values.runs);
const MIB = 1024 * 1024;
const BUCKET = "bench-results";

/** A gate that grants at once: the bench measures the store, not Redis. */
const OPEN_GATE = { claim: async () => undefined, check: () => undefined };

async function writeRandomFile(file: string, bytes: number): Promise<void> {
  const out = createWriteStream(file);
  for (let written = 0; written < bytes; written += 8 * MIB) {
    const chunk = randomBytes(Math.min(8 * MIB, bytes - written));
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
  }
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
}

/** One job's publish through `store`: stage, write the output, describe (hash) it, publish. Seconds per phase. */
async function publishOnce(
  store: ResultStore,
  run: number,
): Promise<{ describeS: number; publishS: number }> {
  const staged = store.stage({ task_id: `bench-${run}`, queue: "bench", token: `token-${run}` });
  await staged.ready;
  await mkdir(staged.filesDir, { recursive: true });
  const file = path.join(staged.filesDir, `bench-${run}.mp4`);
  await writeRandomFile(file, sizeMib * MIB);
  let started = performance.now();
  const files = await store.describe(staged, [file]);
  const describeS = (performance.now() - started) / 1000;
  started = performance.now();
  await store.publish(staged, `bench/${run}`, { "result.json": { files } }, OPEN_GATE);
  return { describeS, publishS: (performance.now() - started) / 1000 };
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), "wgp-store-bench-"));
  const server = await S3TestServer.start({ dataDir: path.join(work, "s3rver"), buckets: [BUCKET] });
  Object.assign(process.env, server.env(S3RVER_CREDENTIALS));
  try {
    const settings = { ...server.settings, s3PartSize: 16 * MIB };
    const folder = await OutputPublisher.open(path.join(work, "folder-out"));
    const s3 = await S3ResultStore.open(path.join(work, "s3-staging"), `s3://${BUCKET}/bench`, settings);
    const bucket = new Bucket({ bucket: BUCKET, prefix: "" }, settings, { setting: "bench" });
    const uploadS: number[] = [];
    const folderPublish: number[] = [];
    const s3Publish: number[] = [];
    const describe: number[] = [];
    for (let run = 0; run < runs; run += 1) {
      const raw = path.join(work, "raw.bin");
      await writeRandomFile(raw, sizeMib * MIB);
      const [described] = await folder.describe(
        { dir: work, filesDir: work, owner: {} as never, ready: Promise.resolve() },
        [raw],
      );
      const started = performance.now();
      await bucket.upload(`raw/${run}.bin`, {
        path: raw,
        size: (await stat(raw)).size,
        sha256: described?.sha256 ?? "",
      });
      uploadS.push((performance.now() - started) / 1000);
      await bucket.delete([`raw/${run}.bin`]);
      await rm(raw);

      const inFolder = await publishOnce(folder, run);
      folderPublish.push(inFolder.publishS);
      const inBucket = await publishOnce(s3, run);
      s3Publish.push(inBucket.publishS);
      describe.push(inBucket.describeS);
      await rm(path.join(work, "folder-out", "bench"), { recursive: true, force: true });
      await bucket.delete((await bucket.list("bench/")).map((object) => object.key));
    }
    bucket.close();
    await s3.close();
    const throughput = sizeMib / median(uploadS);
    const added = median(s3Publish) - median(folderPublish);
    printBenchResult({
      title: `Results to a bucket (${sizeMib} MiB output, s3rver on loopback)`,
      method: `${runs} runs, medians; one ${sizeMib} MiB file of random bytes; parts of 16 MiB, 4 in flight; Node ${process.version}`,
      rows: [
        { measure: "upload throughput (multipart, checked)", value: `${throughput.toFixed(0)} MiB/s` },
        {
          measure: "sha256 of the output (both stores, for the manifest)",
          value: `${median(describe).toFixed(2)} s`,
        },
        { measure: "publish, shared folder (rename)", value: `${median(folderPublish).toFixed(3)} s` },
        {
          measure: "publish, bucket (upload, copy, manifest last)",
          value: `${median(s3Publish).toFixed(2)} s`,
        },
        { measure: "time a bucket adds to a job", value: `${added.toFixed(2)} s` },
      ],
      notes: [
        "s3rver writes every object to its own disk and copies server-side by reading and writing the file: a real store (MinIO, AWS) copies without the extra disk pass, so the copy share here is an upper bound.",
        "The upload happens before the publish claim; only the server-side copy and result.json run inside the publish lease.",
      ],
      details: {
        size_mib: sizeMib,
        upload_s: uploadS,
        folder_publish_s: folderPublish,
        s3_publish_s: s3Publish,
        describe_s: describe,
      },
    });
  } finally {
    await server.stop({ removeData: true });
    await rm(work, { recursive: true, force: true });
  }
}

await main();
