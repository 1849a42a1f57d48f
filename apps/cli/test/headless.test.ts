import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { Bucket } from "@wgp-farm/storage";
import { S3RVER_CREDENTIALS, S3TestServer } from "@wgp-farm/storage/test-server";
import { CAUSVID_PRESET } from "@wgp-farm/tasks";
import {
  copyOfFakeWangp,
  EXAMPLE_TASKS,
  readJsonLines,
  temporaryDir,
  uniquePrefix,
  waitUntil,
} from "@wgp-farm/testing";
import { STAGING_DIR_NAME } from "@wgp-farm/worker";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import {
  type CliProcess,
  exitOf,
  isRunning,
  killProcessGroup,
  pressCtrlC,
  runCli,
  startCollecting,
} from "./run-cli.js";

interface Sandbox {
  dir: string;
  wangp: string;
  tasksFile: string;
  outputDir: string;
  record: string;
  prefix: string;
}

let box: Sandbox;
let remove: () => Promise<void>;
const children: CliProcess[] = [];

beforeEach(async () => {
  const temp = await temporaryDir("headless");
  remove = temp.remove;
  const wangp = await copyOfFakeWangp(temp.dir);
  // The CausVid LoRA is in place, as after a first download (downloads are the worker tests' subject).
  await writeFile(path.join(wangp, "loras", "wan", CAUSVID_PRESET.loraFile), "lora weights");
  box = {
    dir: temp.dir,
    wangp,
    tasksFile: path.join(temp.dir, "tasks.json"),
    outputDir: path.join(temp.dir, "headless_outputs"),
    record: path.join(temp.dir, "record.jsonl"),
    prefix: uniquePrefix("headless"),
  };
});
afterEach(async () => {
  for (const child of children.splice(0)) if (isRunning(child)) killProcessGroup(child);
  await remove();
});

/** `wgp-farm headless` with the old script's flags, on the WanGP double (the real engine-py, the wangp adapter). */
function startHeadless(
  extraArgs: string[] = [],
  env: NodeJS.ProcessEnv = {},
  redis: { redisUrl: string | undefined } = { redisUrl: inject("redisUrl") },
) {
  const redisArgs = redis.redisUrl ? ["--redis-url", redis.redisUrl] : [];
  const { child, stderr } = startCollecting(
    [
      "headless",
      "--tasks-file",
      box.tasksFile,
      "--main-output-dir",
      box.outputDir,
      "--poll-interval",
      "1",
      "--wangp-root",
      box.wangp,
      "--slots",
      "2",
      ...redisArgs,
      "--prefix",
      box.prefix,
      ...extraArgs,
    ],
    {
      cwd: box.dir,
      env: { FAKE_WANGP_RECORD: box.record, FAKE_WANGP_STEP_S: "0.02", ...env },
      ownProcessGroup: true,
    },
  );
  children.push(child);
  return { child, logs: stderr };
}

function records(): Promise<Record<string, unknown>[]> {
  return readJsonLines(box.record);
}

async function resultOf(subDir: string): Promise<Record<string, unknown> | undefined> {
  const text = await readFile(path.join(box.outputDir, subDir, "result.json"), "utf8").catch(() => undefined);
  return text ? JSON.parse(text) : undefined;
}

describe("wgp-farm headless", () => {
  it("runs the example tasks with the old flags: per-task folders, manifests, CausVid preset, flags reaching WanGP", async () => {
    const examples = await readFile(EXAMPLE_TASKS, "utf8");
    // The example's media paths are relative to its folder; the copy keeps them reachable.
    await mkdir(path.join(box.dir, "path", "to", "your"), { recursive: true });
    for (const name of ["video.mp4", "mask.mp4"]) {
      await writeFile(
        path.join(box.dir, "path", "to", "your", name),
        await readFile(path.join(path.dirname(EXAMPLE_TASKS), "path", "to", "your", name)),
      );
    }
    await writeFile(box.tasksFile, examples);
    const headless = startHeadless([
      "--wgp-attention-mode",
      "sdpa",
      "--wgp-profile",
      "4",
      "--wgp-vae-config",
      "1",
      "--wgp-boost",
      "2",
      "--wgp-transformer-quantization",
      "bf16",
      "--wgp-text-encoder-quantization",
      "bf16",
      "--wgp-vae-precision",
      "32",
      "--wgp-mixed-precision",
      "1",
      "--wgp-transformer-dtype-policy",
      "fp16",
    ]);
    await waitUntil(
      async () =>
        (await resultOf("vace_surreal_landscape")) !== undefined &&
        (await resultOf("causvid_cyberpunk_city")) !== undefined,
      60_000,
    );
    headless.child.kill("SIGINT");
    expect(await exitOf(headless.child)).toBe(0);

    const causvid = await resultOf("causvid_cyberpunk_city");
    expect(causvid).toMatchObject({ status: "completed", seed: 2024, model_type: "t2v" });
    expect(await readdir(path.join(box.outputDir, "causvid_cyberpunk_city"))).toEqual(
      expect.arrayContaining(["causvid_lora_example_001.mp4", "task.json", "result.json"]),
    );
    const submits = (await records()).filter((r) => r.event === "submit");
    const sentCausvid = submits.find((r) => r.id === "causvid_lora_example_001")?.params as Record<
      string,
      unknown
    >;
    expect(sentCausvid).toMatchObject({
      activated_loras: [CAUSVID_PRESET.loraFile],
      loras_multipliers: "0.3",
      guidance_scale: 1,
      flow_shift: 7,
      num_inference_steps: 12,
      video_length: 81,
      resolution: "960x544",
    });
    const sentVace = submits.find((r) => r.id === "vace_14b_example_001")?.params as Record<string, unknown>;
    expect(sentVace.video_prompt_type).toBe("VA");
    expect(sentVace.video_guide).toBe(path.join(box.dir, "path/to/your/video.mp4"));

    const inits = (await records()).filter((r) => r.event === "init");
    expect(inits.length).toBe(2);
    for (const init of inits) {
      const argv = init.argv as string[];
      expect(argv).toEqual(
        expect.arrayContaining(["--attention", "sdpa", "--profile", "4", "--vae-config", "1", "--fp16"]),
      );
      expect(argv).not.toContain("--gpu");
      expect(init.config).toMatchObject({
        boost: 2,
        transformer_quantization: "bf16",
        text_encoder_quantization: "bf16",
        vae_precision: "32",
        mixed_precision: "1",
      });
    }
    // The user's tasks file was claimed (renamed away), never rewritten.
    expect(await readdir(box.dir)).not.toContain("tasks.json");
  });

  it("Ctrl+C drains and exits 0; a restart on the private Redis (AOF) resumes the queued tasks, each run once", async () => {
    const tasks = Array.from({ length: 8 }, (_, i) => ({
      task_id: `resume-${i}`,
      prompt: `scene ${i}`,
      model: "t2v_1.3B",
      steps: 10,
    }));
    await writeFile(box.tasksFile, JSON.stringify(tasks));
    const privateRedis = { redisUrl: undefined };
    const resumed = async () =>
      (await readdir(box.outputDir).catch(() => [] as string[])).filter((name) => name.startsWith("resume-"));

    const first = startHeadless(
      ["--drain-timeout", "30"],
      { FAKE_WANGP_STEP_S: "0.1", REDIS_URL: "" },
      privateRedis,
    );
    await waitUntil(async () => (await resumed()).length > 0, 60_000);
    // As a terminal does: SIGINT to the CLI, its engines and everything else in its process group.
    pressCtrlC(first.child);
    expect(await exitOf(first.child)).toBe(0);
    const afterFirst = (await resumed()).length;
    expect(afterFirst).toBeGreaterThan(0);
    expect(afterFirst).toBeLessThan(8);
    expect(await readdir(path.join(box.outputDir, ".wgp-farm-redis"))).toContain("appendonlydir");

    const second = startHeadless([], { REDIS_URL: "" }, privateRedis);
    await waitUntil(async () => (await resumed()).length === 8, 60_000);
    second.child.kill("SIGTERM");
    expect(await exitOf(second.child)).toBe(0);
    for (const task of tasks) expect(await resultOf(task.task_id)).toMatchObject({ status: "completed" });
    const submitted = (await records()).filter((r) => r.event === "submit").map((r) => r.id as string);
    expect(new Set(submitted).size).toBe(8);
    // The drain let running tasks finish, so none ran twice.
    expect(submitted.length).toBe(8);
    expect(await readdir(path.join(box.outputDir, STAGING_DIR_NAME)).catch(() => [])).toEqual([]);
  });

  it("puts invalid tasks into tasks.json.rejected.jsonl and runs the rest", async () => {
    await writeFile(
      box.tasksFile,
      JSON.stringify([
        { task_id: "fine", prompt: "ok", model: "t2v_1.3B" },
        { task_id: "escape", prompt: "x", output_sub_dir: "../../outside" },
      ]),
    );
    const headless = startHeadless();
    await waitUntil(async () => (await resultOf("fine")) !== undefined, 60_000);
    headless.child.kill("SIGTERM");
    expect(await exitOf(headless.child)).toBe(0);
    const rejected = await readJsonLines(`${box.tasksFile}.rejected.jsonl`);
    expect(rejected).toEqual([
      expect.objectContaining({
        task_id: "escape",
        errors: [expect.objectContaining({ path: "output_sub_dir" })],
      }),
    ]);
    expect(await readdir(box.dir)).not.toContain("outside");
  });

  it("with --output-store publishes every result to the bucket, the local folder holding only staging", async () => {
    const bucketName = "headless-results";
    const server = await S3TestServer.start({ buckets: [bucketName] });
    const bucket = new Bucket({ bucket: bucketName, prefix: "" }, server.settings, {
      setting: "test",
      credentials: S3RVER_CREDENTIALS,
    });
    try {
      const store = `s3://${bucketName}/${box.prefix}`;
      await writeFile(
        box.tasksFile,
        JSON.stringify([{ task_id: "to-bucket", prompt: "a lighthouse", model: "t2v_1.3B", steps: 2 }]),
      );
      // The store's settings and credentials as a host gets them: the environment (the AWS chain).
      const headless = startHeadless(["--output-store", store, "--slots", "1"], server.env());
      let manifest: string | undefined;
      await waitUntil(async () => {
        manifest = await bucket.getText(`${box.prefix}/to-bucket/result.json`);
        return manifest !== undefined;
      }, 60_000);
      expect(JSON.parse(manifest ?? "{}")).toMatchObject({ task_id: "to-bucket", status: "completed" });
      expect(headless.logs()).toContain(`results in ${store}`);
      headless.child.kill("SIGTERM");
      expect(await exitOf(headless.child)).toBe(0);
      expect((await readdir(box.outputDir)).filter((name) => !name.startsWith("."))).toEqual([]);
      expect(await readdir(path.join(box.outputDir, STAGING_DIR_NAME))).toEqual([]);
    } finally {
      bucket.close();
      await server.stop();
    }
  });

  it("says how to install redis-server when there is no REDIS_URL and none is installed", async () => {
    const result = await runCli(
      [
        "headless",
        "--tasks-file",
        box.tasksFile,
        "--main-output-dir",
        box.outputDir,
        "--engine",
        "dry-run",
        "--slots",
        "1",
      ],
      { env: { REDIS_URL: "", WGP_FARM_REDIS_SERVER: "redis-server-not-installed" } },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("apt-get install redis-server");
  });
});

describe("wgp-farm demo", () => {
  it("runs the demo tasks on the whole local farm, retries one, cancels one, and says what happened and where to look", async () => {
    const dataDir = path.join(box.dir, "demo-data");
    const result = await runCli(
      [
        "demo",
        "--exit-when-done",
        "--port",
        "0",
        "--job-seconds",
        "0.2",
        "--data-dir",
        dataDir,
        "--main-output-dir",
        box.outputDir,
      ],
      { env: { REDIS_URL: "" } },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /What happened: 32 tasks in \d+ s on 2 slots — 31 completed, 1 cancelled; [\d,]+ model switch(es)?, 1 retried attempt\./,
    );
    expect(result.stdout).toMatch(/demo_retried_once +completed +2 +settings\.json/);
    expect(result.stdout).toMatch(/demo_cancelled +cancelled +0/);
    expect(result.stdout).toMatch(
      /demo_misspelt_field +completed +1 +import warning: stpes: .*did you mean 'steps'\?/,
    );
    expect(result.stdout).toMatch(/dashboard +http:\/\/127\.0\.0\.1:\d+\/ +\(user admin, password \S{8,}\)/);
    const settings = JSON.parse(
      await readFile(path.join(box.outputDir, "causvid_cyberpunk_city", "settings.json"), "utf8"),
    );
    expect(settings).toMatchObject({
      model_type: "t2v",
      loras_multipliers: "0.3",
      guidance_scale: 1,
      flow_shift: 7,
    });
    expect(await resultOf("vace_surreal_landscape")).toMatchObject({ status: "completed" });
  });
});
