import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { cleanTasks, modelQueueName } from "@wgp-farm/queue";
import { BucketResults, StoreSetupError } from "@wgp-farm/storage";
import { describe, expect, it } from "vitest";
import type { ResultManifest, ResultSummary } from "../src/index.js";
import { STAGING_DIR_NAME } from "../src/output/output-publisher.js";
import {
  bucketServerForFile,
  eventually,
  importTasks,
  lostAttemptOf,
  spawnWorkerProcess,
  startWorker,
  t2vTask,
  takeLockAsAnotherAttempt,
  testFarm,
  waitForJob,
  workerRunningTask,
} from "./support.js";

const T2V = modelQueueName("t2v");
const BUCKET = "farm-results";
const s3 = bucketServerForFile(BUCKET);

/** What must not depend on where a result is kept or which host made it. */
function portable(manifest: ResultManifest) {
  const { task_id, main_file, media_type, files, seed, model_type, settings, loras, causvid, notes } =
    manifest;
  return { task_id, main_file, media_type, files, seed, model_type, settings, loras, causvid, notes };
}

const TASKS = ["a", "b", "c", "d"].map((id) =>
  t2vTask(`farm-${id}`, { seed: 100, output_sub_dir: `farm/${id}` }),
);

describe("a farm whose results go to a bucket", () => {
  it("two worker hosts that share no folder publish the same manifests as a shared-folder farm", async () => {
    const shared = await testFarm("s3-shared-folder");
    await importTasks(shared, TASKS);
    await startWorker(shared, { name: "folder-a", env: { FAKE_WANGP_STEP_S: "0.02" } });
    await startWorker(shared, { name: "folder-b", env: { FAKE_WANGP_STEP_S: "0.02" } });

    const tf = await testFarm("s3-two-hosts");
    const outputStore = `s3://${BUCKET}/${tf.prefix}`;
    for (const host of ["host-a", "host-b"]) {
      await startWorker(tf, {
        name: host,
        mainOutputDir: path.join(tf.dir, `${host}-out`),
        stateDir: path.join(tf.dir, `${host}-state`),
        outputStore,
        ...s3.server.settings,
        // Long enough that the second host takes tasks too.
        env: { FAKE_WANGP_STEP_S: "0.3" },
      });
    }
    await importTasks(tf, TASKS);

    const hosts = new Set<string>();
    for (const task of TASKS) {
      const id = String(task.task_id);
      await waitForJob(shared, id, T2V);
      const inBucket = await waitForJob(tf, id, T2V);
      expect(await inBucket.getState()).toBe("completed");
      const summary = inBucket.returnvalue as ResultSummary;
      hosts.add(summary.host);
      expect(summary.output_dir).toBe(`${outputStore}/${task.output_sub_dir}`);

      const fromFolder = JSON.parse(
        await readFile(path.join(shared.outputDir, String(task.output_sub_dir), "result.json"), "utf8"),
      ) as ResultManifest;
      const fromBucket = JSON.parse(
        (await s3.bucket.getText(`${tf.prefix}/${task.output_sub_dir}/result.json`)) ?? "{}",
      ) as ResultManifest;
      expect(portable(fromBucket)).toEqual(portable(fromFolder));
      expect(await s3.keysUnder(`${tf.prefix}/${task.output_sub_dir}/`)).toEqual(
        [summary.main_file, "result.json", "task.json"]
          .map((name) => `${tf.prefix}/${task.output_sub_dir}/${name}`)
          .sort(),
      );
    }
    expect([...hosts].sort()).toEqual(["host-a", "host-b"]);
    // Nothing stays on the hosts: their staging is removed once the upload is confirmed.
    for (const host of ["host-a", "host-b"]) {
      const local = path.join(tf.dir, `${host}-out`);
      expect(await readdir(local)).toEqual([STAGING_DIR_NAME]);
      expect(await readdir(path.join(local, STAGING_DIR_NAME))).toEqual([]);
    }
    expect(await s3.keysUnder(`${tf.prefix}/${STAGING_DIR_NAME}/`)).toEqual([]);
  });

  it("an attempt whose lock another attempt took uploads nothing under the result's keys", async () => {
    const tf = await testFarm("s3-fence");
    const outputStore = `s3://${BUCKET}/${tf.prefix}`;
    await workerRunningTask(
      tf,
      t2vTask("stolen", { steps: 12, output_sub_dir: "stolen" }),
      () =>
        startWorker(tf, {
          outputStore,
          ...s3.server.settings,
          lockDurationMs: 20_000,
          lockRenewMs: 15_000,
          env: { FAKE_WANGP_STEP_S: "0.1" },
        }),
      2,
    );
    await takeLockAsAnotherAttempt(tf, T2V, "stolen");

    const lost = await lostAttemptOf(tf, "stolen");
    expect(lost.why).toMatch(/publish claim was refused/);
    expect(await s3.keysUnder(`${tf.prefix}/stolen/`)).toEqual([]);
    await eventually(
      async () => ((await s3.keysUnder(`${tf.prefix}/`)).length === 0 ? true : undefined),
      5_000,
      "the attempt's remote staging removed",
    );
    expect(await tf.farm.queues.byName(T2V).getJobState("stolen")).toBe("active");
  });

  it("gives working presigned links to a stored result, and clean --results removes it with its job", async () => {
    const tf = await testFarm("s3-links");
    const outputStore = `s3://${BUCKET}/${tf.prefix}`;
    await importTasks(tf, [t2vTask("linked", { output_sub_dir: "linked" })]);
    await startWorker(tf, { outputStore, ...s3.server.settings, env: { FAKE_WANGP_STEP_S: "0.02" } });
    const job = await waitForJob(tf, "linked", T2V);
    const summary = job.returnvalue as ResultSummary;

    const results = new BucketResults(s3.server.settings, { within: outputStore });
    const elsewhere = new BucketResults(s3.server.settings, { within: `s3://${BUCKET}/another-farm` });
    try {
      const links = await results.linksOfResult(summary, 60_000);
      expect(links.map((link) => link.name)).toEqual([summary.main_file, "result.json"]);
      const main = Buffer.from(await (await fetch(links[0]?.url ?? "")).arrayBuffer());
      expect(createHash("sha256").update(main).digest("hex")).toBe(summary.files[0]?.sha256);
      // Links are given only for results inside the store a program was given.
      expect(await elsewhere.linksOfResult(summary)).toEqual([]);

      const dry = await cleanTasks(tf.farm, { state: "completed", olderThanMs: 0, dryRun: true, results });
      expect(dry.results?.removed).toEqual([summary.output_dir]);
      expect((await s3.keysUnder(`${tf.prefix}/linked/`)).length).toBe(3);
      const report = await cleanTasks(tf.farm, { state: "completed", olderThanMs: 0, results });
      expect(report.results).toEqual({ removed: [summary.output_dir], kept: [], failed: [] });
      expect(await s3.keysUnder(`${tf.prefix}/`)).toEqual([]);
    } finally {
      results.close();
      elsewhere.close();
    }
  });

  it("does not start when the bucket is missing, and says which setting names it", async () => {
    const tf = await testFarm("s3-no-bucket");
    const failure = await startWorker(tf, {
      outputStore: "s3://no-such-bucket/farm",
      ...s3.server.settings,
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StoreSetupError);
    expect(String(failure)).toContain(
      "--output-store s3://no-such-bucket/farm: the bucket 'no-such-bucket' does not exist",
    );
  });

  it("a `wgp-farm worker` process takes the store and its settings from the environment", async () => {
    const tf = await testFarm("s3-cli-worker");
    await importTasks(tf, [t2vTask("by-cli", { output_sub_dir: "by-cli" })]);
    spawnWorkerProcess(tf, "cli-host", [], {
      ...s3.server.env(),
      WGP_FARM_OUTPUT_STORE: `s3://${BUCKET}/${tf.prefix}`,
      FAKE_WANGP_STEP_S: "0.02",
    });
    const job = await waitForJob(tf, "by-cli", T2V, ["completed", "failed"], 60_000);
    expect(job.failedReason).toBeUndefined();
    expect((job.returnvalue as ResultSummary).output_dir).toBe(`s3://${BUCKET}/${tf.prefix}/by-cli`);
    expect(await s3.keysUnder(`${tf.prefix}/by-cli/`)).toContain(`${tf.prefix}/by-cli/result.json`);
  });
});
