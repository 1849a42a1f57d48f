import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { FarmConnection, findFreePort } from "@wgp-farm/queue";
import { temporaryDir, uniquePrefix } from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { runCli, startCli } from "./run-cli.js";

const EXAMPLE = fileURLToPath(new URL("../../../examples/tasks.json", import.meta.url));

let prefix: string;
let farm: FarmConnection;
let work: { dir: string; remove: () => Promise<void> };

beforeEach(async () => {
  prefix = uniquePrefix("cli");
  farm = await FarmConnection.open(inject("redisUrl"), prefix);
  work = await temporaryDir("cli");
});
afterEach(async () => {
  await farm.close();
  await work.remove();
});

const redisArgs = () => ["--redis-url", inject("redisUrl"), "--prefix", prefix];

function generatedTasks(count: number, models = ["t2v", "vace_14B", "i2v", "t2v_1.3B"]): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    lines.push(
      JSON.stringify({
        task_id: `gen-${i}`,
        prompt: `generated task ${i}`,
        model: models[i % models.length],
        frames: 81,
      }),
    );
  }
  return `${lines.join("\n")}\n`;
}

describe("wgp-farm import-tasks", () => {
  it("imports the example tasks file verbatim, then skips them on a second run", async () => {
    const first = await runCli(["import-tasks", EXAMPLE, ...redisArgs()]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("Imported: 2 tasks (model.t2v: 1, model.vace_14B: 1)");
    const job = await farm.queues.forModel("vace_14B").getJob("vace_14b_example_001");
    expect(job?.data.task.video_guide_path).toBe(path.join(path.dirname(EXAMPLE), "path/to/your/video.mp4"));

    const second = await runCli(["import-tasks", EXAMPLE, ...redisArgs(), "--json"]);
    expect(second.code).toBe(0);
    const report = JSON.parse(second.stdout);
    expect(report.imported).toEqual([]);
    expect(report.skipped.map((s: { task_id: string }) => s.task_id).sort()).toEqual([
      "causvid_lora_example_001",
      "vace_14b_example_001",
    ]);
  });

  it("reads JSON Lines from stdin; REDIS_URL and WGP_FARM_PREFIX stand in for the flags", async () => {
    const result = await runCli(["import-tasks", "-", "--json"], {
      input: generatedTasks(10),
      env: { REDIS_URL: inject("redisUrl"), WGP_FARM_PREFIX: prefix },
    });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).imported).toHaveLength(10);
    expect(await farm.queues.forModel("i2v").count()).toBe(2);
  });

  it("reports each invalid task with index, task_id, field and message, imports the rest, exits 1", async () => {
    const file = path.join(work.dir, "mixed.json");
    await writeFile(
      file,
      JSON.stringify([
        { task_id: "good-1", prompt: "fine" },
        { task_id: "has:colon", prompt: "x" },
        { task_id: "escape", prompt: "x", output_sub_dir: "../../etc" },
        { task_id: "no-media", prompt: "x", video_guide_path: "missing.mp4" },
        { task_id: "good-1", prompt: "duplicate" },
        { task_id: "good-2", prompt: "fine", stpes: 4 },
      ]),
    );
    const result = await runCli(["import-tasks", file, ...redisArgs(), "--json"]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report.imported.map((e: { task_id: string }) => e.task_id)).toEqual(["good-1", "good-2"]);
    expect(report.invalid).toEqual([
      {
        index: 1,
        task_id: "has:colon",
        line: 1,
        errors: [{ path: "task_id", message: expect.stringContaining("':'") }],
      },
      {
        index: 2,
        task_id: "escape",
        line: 1,
        errors: [{ path: "output_sub_dir", message: expect.stringContaining("'..'") }],
      },
      {
        index: 3,
        task_id: "no-media",
        line: 1,
        errors: [
          { path: "video_guide_path", message: expect.stringContaining(path.join(work.dir, "missing.mp4")) },
        ],
      },
      {
        index: 4,
        task_id: "good-1",
        line: 1,
        errors: [{ path: "task_id", message: expect.stringContaining("duplicate") }],
      },
    ]);
    expect(report.warnings).toEqual([
      {
        index: 5,
        task_id: "good-2",
        warnings: [{ path: "stpes", message: "unknown field, did you mean 'steps'?" }],
      },
    ]);

    const human = await runCli(["import-tasks", file, ...redisArgs(), "--strict"]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain("task #3 'no-media' (line 1):\n    video_guide_path: file not found:");
    expect(human.stdout).toContain("stpes: unknown field, did you mean 'steps'?");
  });

  it("--dry-run validates without touching Redis", async () => {
    const result = await runCli(["import-tasks", EXAMPLE, "--dry-run", "--redis-url", "redis://127.0.0.1:1"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Valid (dry run, nothing queued): 2 tasks");
  });

  it("an unreachable Redis is a clear error naming the URL, exit 2", async () => {
    const port = await findFreePort();
    const result = await runCli(["import-tasks", EXAMPLE, "--redis-url", `redis://127.0.0.1:${port}`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`cannot reach Redis at redis://127.0.0.1:${port}`);
  });

  it("usage errors and unreadable files exit 2", async () => {
    expect((await runCli(["import-tasks"])).code).toBe(2);
    const missing = await runCli(["import-tasks", path.join(work.dir, "nope.json"), ...redisArgs()]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("cannot read tasks file");
    const badOption = await runCli(["import-tasks", EXAMPLE, ...redisArgs(), "--attempts", "zero"]);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain("--attempts");
  });

  it("imports a large file in one go", async () => {
    const file = path.join(work.dir, "large.jsonl");
    await writeFile(file, generatedTasks(20_000));
    const result = await runCli(["import-tasks", file, ...redisArgs()]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Imported: 20,000 tasks");
    expect(await farm.redis.hlen(farm.keys.taskIndex)).toBe(20_000);
  });

  it("a re-run after an import killed half-way completes it, every task exactly once", async () => {
    const file = path.join(work.dir, "killed.jsonl");
    const count = 30_000;
    await writeFile(file, generatedTasks(count));
    const child = startCli(["import-tasks", file, ...redisArgs()]);
    child.stdin?.end();
    // Kill as soon as part of the file is in Redis.
    for (let i = 0; i < 400; i++) {
      const indexed = await farm.redis.hlen(farm.keys.taskIndex);
      if (indexed > 1000) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    child.kill("SIGKILL");
    await child;
    const partial = await farm.redis.hlen(farm.keys.taskIndex);
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(count);

    const rerun = await runCli(["import-tasks", file, ...redisArgs(), "--json"]);
    expect(rerun.code).toBe(0);
    const report = JSON.parse(rerun.stdout);
    expect(report.imported.length + report.skipped.length).toBe(count);
    let jobs = 0;
    for (const model of await farm.queues.knownModels()) jobs += await farm.queues.forModel(model).count();
    expect(jobs).toBe(count);
  });
});

describe("wgp-farm schema and --help", () => {
  it("prints the task list JSON Schema", async () => {
    const result = await runCli(["schema"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).items.anyOf[0].required).toEqual(["task_id", "prompt"]);
  });

  it("documents every option with its environment variable", async () => {
    const result = await runCli(["import-tasks", "--help"]);
    expect(result.code).toBe(0);
    const help = result.stdout.replace(/\s+/g, " ");
    expect(help).toContain("Redis to use (default: redis://127.0.0.1:6379, env: REDIS_URL)");
    expect(help).toContain(
      "--attempts <n> attempts per task for retryable failures (OOM, engine crash, hang) (default: 3, env: WGP_FARM_ATTEMPTS)",
    );
    expect(result.stdout).toContain("Exit codes: 0");
  });
});
