/**
 * Import of 100,000 generated tasks (valid, ten models) from a JSON file through the real
 * `wgp-farm import-tasks` into a fresh private Redis, several runs: wall time, peak RSS of the CLI
 * process, and Redis memory per queued task. Needs a build (`npx turbo run build`) and redis-server.
 *
 *   node test/bench/import-bench.ts [--tasks 100000] [--runs 5]
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { connectRedis, RedisServerProcess } from "@wgp-farm/queue";
import { median, printBenchResult } from "./bench-result.ts";
import { writeTaskFile } from "./bench-tasks.ts";

const CLI = fileURLToPath(new URL("../../apps/cli/bin/wgp-farm", import.meta.url));

const { values } = parseArgs({
  options: { tasks: { type: "string", default: "100000" }, runs: { type: "string", default: "5" } },
});
const taskCount = Number(values.tasks);
const runs = Number(values.runs);

function peakRssMb(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((entry) => entry.startsWith("VmHWM:"));
    return Number(line?.split(/\s+/)[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** Runs the CLI, sampling its peak RSS (VmHWM only grows, so the last sample is the peak so far). */
async function timedImport(file: string, redisUrl: string): Promise<{ seconds: number; peakMb: number }> {
  const started = performance.now();
  const child = spawn(CLI, ["import-tasks", file, "--redis-url", redisUrl], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  let peak = 0;
  const sampler = setInterval(() => {
    if (child.pid) peak = Math.max(peak, peakRssMb(child.pid) || 0);
  }, 20);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearInterval(sampler);
  if (code !== 0) throw new Error(`import-tasks exited with ${code}`);
  return { seconds: (performance.now() - started) / 1000, peakMb: peak };
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), "wgp-import-bench-"));
  try {
    const file = path.join(work, "tasks.json");
    await writeTaskFile(file, taskCount);
    const samples: { seconds: number; peakMb: number; redisBytesPerTask: number }[] = [];
    for (let run = 0; run < runs; run++) {
      const redis = await RedisServerProcess.start({
        dataDir: path.join(work, `redis-${run}`),
        persistence: "none",
      });
      try {
        const client = await connectRedis(redis.url);
        const before = Number((await client.info("memory")).match(/used_memory:(\d+)/)?.[1]);
        const { seconds, peakMb } = await timedImport(file, redis.url);
        const after = Number((await client.info("memory")).match(/used_memory:(\d+)/)?.[1]);
        await client.quit();
        samples.push({ seconds, peakMb, redisBytesPerTask: (after - before) / taskCount });
      } finally {
        await redis.stop();
      }
    }
    const wall = median(samples.map((s) => s.seconds));
    const rss = median(samples.map((s) => s.peakMb));
    const perTask = median(samples.map((s) => s.redisBytesPerTask));
    printBenchResult({
      title: `Import of ${taskCount.toLocaleString("en-US")} tasks`,
      method: `\`wgp-farm import-tasks\` of a ${taskCount.toLocaleString("en-US")}-task JSON array (10 models, CausVid on 1 in 7, random seed on 1 in 3) into a fresh redis-server, ${runs} runs; medians. Peak RSS is the CLI process's VmHWM.`,
      rows: [
        { measure: "wall time", value: `${wall.toFixed(2)} s`, target: "≤ 10 s", pass: wall <= 10 },
        { measure: "throughput", value: `${Math.round(taskCount / wall).toLocaleString("en-US")} tasks/s` },
        { measure: "peak RSS", value: `${rss.toFixed(0)} MB`, target: "≤ 300 MB", pass: rss <= 300 },
        { measure: "Redis memory per queued task", value: `${(perTask / 1024).toFixed(2)} KiB` },
      ],
      details: { samples },
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
