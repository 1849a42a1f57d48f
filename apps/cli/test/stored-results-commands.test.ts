import { FarmConnection } from "@wgp-farm/queue";
import { Bucket } from "@wgp-farm/storage";
import { S3RVER_CREDENTIALS, S3TestServer } from "@wgp-farm/storage/test-server";
import { importTestTasks, startTestWorker, uniquePrefix, waitUntil } from "@wgp-farm/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runCli } from "./run-cli.js";

const BUCKET = "cli-results";
const IDS = ["stored-1", "stored-2"];
let server: S3TestServer;
let bucket: Bucket;
let prefix: string;
let farm: FarmConnection;
const farmArgs = () => ["--redis-url", inject("redisUrl"), "--prefix", prefix];
/** What a host of a bucket farm sets: the store, its endpoint, credentials by the AWS chain. */
const storeEnv = () => ({ ...server.env(), WGP_FARM_OUTPUT_STORE: `s3://${BUCKET}/${prefix}` });

beforeAll(async () => {
  server = await S3TestServer.start({ buckets: [BUCKET] });
  bucket = new Bucket({ bucket: BUCKET, prefix: "" }, server.settings, {
    setting: "test",
    credentials: S3RVER_CREDENTIALS,
  });
  prefix = uniquePrefix("cli-stored");
  farm = await FarmConnection.open(inject("redisUrl"), prefix);
  await importTestTasks(
    farm,
    IDS.map((id) => ({ task_id: id })),
    { attempts: 1, backoffMs: 0 },
  );
  for (const id of IDS) {
    await bucket.putText(`${prefix}/${id}/${id}.mp4`, `the video of ${id}`, "video/mp4");
    await bucket.putText(`${prefix}/${id}/result.json`, "{}");
  }
  const worker = await startTestWorker(farm, "model.t2v", async (job) => ({
    status: "completed",
    output_dir: `s3://${BUCKET}/${prefix}/${job.id}`,
    main_file: `${job.id}.mp4`,
    files: [{ name: `${job.id}.mp4`, size: 20, sha256: "0".repeat(64) }],
  }));
  try {
    await waitUntil(async () => (await farm.queues.forModel("t2v").getCompletedCount()) === IDS.length);
  } finally {
    await worker.close();
  }
});

afterAll(async () => {
  await farm?.close();
  bucket?.close();
  await server?.stop();
});

describe("results kept in a bucket, from the CLI", () => {
  it("status <id> gives presigned links to the result's files", async () => {
    const json = await runCli(["status", "stored-1", "--json", ...farmArgs()], { env: storeEnv() });
    expect(json.code).toBe(0);
    const { links } = JSON.parse(json.stdout) as { links: { name: string; url: string }[] };
    expect(links.map((link) => link.name)).toEqual(["stored-1.mp4", "result.json"]);
    expect(await (await fetch(links[0]?.url ?? "")).text()).toBe("the video of stored-1");

    const table = await runCli(["status", "stored-1", "--s3-link-ttl", "600", ...farmArgs()], {
      env: storeEnv(),
    });
    expect(table.stdout).toMatch(
      /Links \(valid 10 min\):\n\s+stored-1\.mp4\s+http:\/\/127\.0\.0\.1:\d+\/cli-results\//,
    );
  });

  it("clean --results removes the stored results with their tasks", async () => {
    const dry = await runCli(
      ["clean", "--older-than", "0s", "--results", "--dry-run", "--json", ...farmArgs()],
      {
        env: storeEnv(),
      },
    );
    expect(JSON.parse(dry.stdout).results.removed).toHaveLength(2);
    expect(await bucket.list(`${prefix}/`)).toHaveLength(4);

    const cleaned = await runCli(["clean", "--older-than", "0s", "--results", ...farmArgs()], {
      env: storeEnv(),
    });
    expect(cleaned.code).toBe(0);
    expect(cleaned.stdout).toContain("Removed 2 stored results");
    expect(await bucket.list(`${prefix}/`)).toEqual([]);
  });
});
