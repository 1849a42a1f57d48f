/**
 * `npm run bench`: runs every benchmark script of the project one after the other (each in its own
 * process, on this machine, in one session so that ratios compare like with like) and writes
 * docs/BENCHMARKS.md and docs/benchmarks.json. Speed is measured here, never in timed tests.
 *
 *   node test/bench/run-all.ts [--only import,engine] [--quick]
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { BenchResult } from "./bench-result.ts";
import { renderBenchmarks } from "./render-benchmarks.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface BenchScript {
  name: string;
  script: string;
  args: string[];
  quickArgs: string[];
}

const BENCHES: BenchScript[] = [
  {
    name: "import",
    script: "test/bench/import-bench.ts",
    args: ["--runs", "5"],
    quickArgs: ["--runs", "1", "--tasks", "10000"],
  },
  {
    name: "engine",
    script: "libs/engine/bench/engine-bench.ts",
    args: [],
    quickArgs: ["--round-trip-jobs", "100", "--memory-jobs", "300", "--idle-s", "1"],
  },
  { name: "worker", script: "apps/worker/bench/worker-bench.ts", args: [], quickArgs: ["--quick"] },
  {
    name: "events",
    script: "test/bench/events-bench.ts",
    args: [],
    quickArgs: ["--clients", "100", "--events", "50", "--deliveries", "300"],
  },
  { name: "farm", script: "test/bench/farm-bench.ts", args: [], quickArgs: ["--quick"] },
  {
    name: "input-cache",
    script: "test/bench/input-cache-bench.ts",
    args: [],
    quickArgs: ["--size-mb", "20", "--runs", "1"],
  },
  {
    name: "store",
    script: "test/bench/store-bench.ts",
    args: ["--size-mib", "1024", "--runs", "2"],
    quickArgs: ["--size-mib", "64", "--runs", "1"],
  },
  {
    name: "dashboard",
    script: "test/bench/dashboard-bench.ts",
    args: [],
    quickArgs: ["--slots", "16", "--tasks", "600", "--runs", "1"],
  },
  {
    name: "submit",
    script: "test/bench/submit-bench.ts",
    args: [],
    quickArgs: ["--tasks", "2000", "--batch", "500"],
  },
  { name: "flow", script: "test/bench/flow-bench.ts", args: [], quickArgs: ["--segments", "20"] },
];

const { values } = parseArgs({
  options: { only: { type: "string" }, quick: { type: "boolean", default: false } },
});
const only = values.only?.split(",");

function runBench(bench: BenchScript): Promise<BenchResult> {
  return new Promise((resolve, reject) => {
    const args = [bench.script, ...(values.quick ? bench.quickArgs : bench.args)];
    process.stderr.write(`bench: ${bench.name} (node ${args.join(" ")})\n`);
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => {
      const last = stdout.trim().split("\n").pop() ?? "";
      if (code !== 0) return reject(new Error(`${bench.name} benchmark exited with ${code}`));
      try {
        resolve(JSON.parse(last) as BenchResult);
      } catch {
        reject(new Error(`${bench.name} benchmark printed no result line`));
      }
    });
  });
}

function machine(): Record<string, string> {
  const redis =
    execFileSync("redis-server", ["--version"], { encoding: "utf8" }).match(/v=(\S+)/)?.[1] ?? "?";
  return {
    cpu: `${cpus()[0]?.model ?? "?"} × ${cpus().length}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    node: process.version,
    redis,
    python: execFileSync("python3", ["--version"], { encoding: "utf8" }).trim(),
    date: new Date().toISOString().slice(0, 10),
  };
}

type NamedResult = { name: string; result: BenchResult };

function markedStale(result: BenchResult, reason: string): BenchResult {
  const note = `**Not measured in this run** (${reason}): the figures are the previous run's.`;
  return { ...result, notes: [note, ...(result.notes ?? [])] };
}

/** With --only, the other benches keep their last figures (docs/benchmarks.json) in the page. */
async function previousResults(): Promise<NamedResult[]> {
  const text = await readFile(new URL("docs/benchmarks.json", `file://${ROOT}`), "utf8").catch(() => "");
  if (!text) return [];
  return (JSON.parse(text) as { results?: NamedResult[] }).results ?? [];
}

const previous = await previousResults();
const results: NamedResult[] = [];
const failed: string[] = [];
for (const bench of BENCHES) {
  const kept = previous.find((entry) => entry.name === bench.name);
  if (only && !only.includes(bench.name)) {
    if (kept) results.push(kept);
    continue;
  }
  if (!existsSync(new URL(bench.script, `file://${ROOT}`))) {
    process.stderr.write(`bench: ${bench.name} skipped (${bench.script} not found)\n`);
    continue;
  }
  try {
    results.push({ name: bench.name, result: await runBench(bench) });
  } catch (error) {
    // One broken bench must not cost the figures of the others: they are written, and its last figures kept, marked.
    const reason = error instanceof Error ? error.message : String(error);
    process.stderr.write(`bench: ${bench.name} failed (${reason}); going on with the others\n`);
    failed.push(bench.name);
    if (kept) results.push({ name: bench.name, result: markedStale(kept.result, reason) });
  }
}
const info = machine();
await writeFile(
  new URL("docs/BENCHMARKS.md", `file://${ROOT}`),
  renderBenchmarks(results, info, values.quick === true),
);
await writeFile(
  new URL("docs/benchmarks.json", `file://${ROOT}`),
  `${JSON.stringify({ machine: info, results }, null, 2)}\n`,
);
process.stderr.write("bench: wrote docs/BENCHMARKS.md and docs/benchmarks.json\n");
if (results.some(({ result }) => result.rows.some((row) => row.pass === false))) {
  process.stderr.write("bench: some targets were missed (see docs/BENCHMARKS.md)\n");
}
if (failed.length) {
  process.stderr.write(`bench: ${failed.join(", ")} failed: see the errors above\n`);
  process.exitCode = 1;
}
