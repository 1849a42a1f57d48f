/** docs/RELIABILITY.md and docs/reliability.json from a run of the chaos suite. */
import { readFile, writeFile } from "node:fs/promises";
import { formatMs, median, type ScenarioResult, verdictOf } from "./scenario-result.ts";

export interface RunInfo {
  scale: "short" | "full";
  machine: Record<string, string>;
  startedAt: string;
  durationS: number;
  command: string;
  /** Scenarios run again since (`--only … --write`), one line each: which, when, at what size. */
  updates?: string[];
}

/** The report last written (docs/reliability.json), if there is one. */
export async function readReport(
  jsonFile: string,
): Promise<{ run: RunInfo; results: ScenarioResult[] } | undefined> {
  const text = await readFile(jsonFile, "utf8").catch(() => "");
  return text ? (JSON.parse(text) as { run: RunInfo; results: ScenarioResult[] }) : undefined;
}

const COLUMNS =
  "| scenario | trials | tasks | faults | lost | duplicated | escaped | recover median | recover max | verdict |";

function row(result: ScenarioResult): string {
  const max = result.recoverMs.length > 0 ? Math.max(...result.recoverMs) : undefined;
  return `| [${result.title}](#${result.id}) | ${result.trials.toLocaleString("en")} | ${result.tasks.toLocaleString("en")} | ${result.faults.toLocaleString("en")} | ${result.lost} | ${result.duplicated} | ${result.escaped} | ${formatMs(median(result.recoverMs))} | ${formatMs(max)} | **${verdictOf(result)}** |`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** ", overwritten 0, wasted GPU time 12.3 s" for the scenarios that count them. */
function fencingCounts(result: ScenarioResult): string {
  const overwritten = result.overwritten === undefined ? "" : `, overwritten ${result.overwritten}`;
  const wasted = result.wastedGpuS === undefined ? "" : `, wasted GPU time ${result.wastedGpuS.toFixed(1)} s`;
  return overwritten + wasted;
}

function section(result: ScenarioResult): string {
  const verdict = verdictOf(result);
  const lines = [
    `## ${result.title}`,
    "",
    `<a id="${result.id}"></a>**${verdict}** — ${result.trials.toLocaleString("en")} trials, ${result.tasks.toLocaleString("en")} tasks, ${result.faults.toLocaleString("en")} faults injected; lost ${result.lost}, duplicated ${result.duplicated}, escaped ${result.escaped}${fencingCounts(result)}; ${result.durationS} s.`,
    "",
    ...result.method.map((line) => `- ${line}`),
    "",
    "| measure | result |",
    "|---|---|",
    ...result.figures.map(([label, value]) => `| ${escapeCell(label)} | ${escapeCell(value)} |`),
  ];
  if (result.recoverMs.length > 0) {
    lines.push(
      `| time to recover (${escapeCell(result.recoveryMeaning)}): median / max over ${result.recoverMs.length} | ${formatMs(median(result.recoverMs))} / ${formatMs(Math.max(...result.recoverMs))} |`,
    );
  }
  if (result.violations.length > 0) {
    lines.push(
      "",
      "Broken invariants:",
      "",
      ...result.violations.slice(0, 40).map((v) => `- ${escapeCell(v)}`),
    );
    if (result.violations.length > 40) lines.push(`- … ${result.violations.length - 40} more`);
  }
  return lines.join("\n");
}

export async function writeReport(
  markdownFile: string,
  jsonFile: string,
  run: RunInfo,
  results: readonly ScenarioResult[],
  notes: readonly string[],
): Promise<void> {
  const failed = results.filter((result) => verdictOf(result) === "FAIL");
  const markdown = [
    "# Reliability",
    "",
    `Written by \`${run.command}\` (test/chaos/run-chaos.ts); do not edit by hand. Raw numbers: \`docs/reliability.json\`.`,
    "Everything is real: a private redis-server per scenario (AOF on), `wgp-farm worker` and `wgp-farm dashboard` processes",
    "started from the built CLI, engine-py driving the WanGP test double (`test/fixtures/fake-wangp`) with short step times",
    "(or the dry-run engine where said), and real signals. Figures are measured, never asserted; the verdicts are about",
    "correctness: every task accounted for, one result per output folder, no staging left, nothing written outside the",
    "output root, nothing changed by a refused request.",
    "",
    "**Columns.** *trials*: rounds of the attack (kills, outages, generated inputs, requests). *faults*: faults injected",
    "(kills, outages, tasks told to break, bad tasks, garbage lines, hostile requests). *lost*: tasks not finished or unknown",
    "at the end. *duplicated*: an output folder with more than one result or a stray one, or a task run again after it",
    "completed. *escaped*: a write outside the output root, or a change made by a request that should have been refused.",
    "*recover*: per scenario, as its section says. The fencing scenarios (a frozen worker, a host cut off) also count",
    "*overwritten*: a result folder that names another attempt than the one Redis completed the task with, and the GPU",
    "time wasted by attempts that lost their job (slot time until they knew), in their sections.",
    "",
    `Run: ${run.startedAt}, ${run.scale === "full" ? "full size" : "short (CI) size"}, ${run.durationS} s in all. Verdict: **${failed.length === 0 ? "PASS" : `FAIL (${failed.map((r) => r.id).join(", ")})`}**.`,
    ...(run.updates ?? []).map((update) => `Run again since, alone: ${update}.`),
    "",
    "| machine | |",
    "|---|---|",
    ...Object.entries(run.machine).map(([key, value]) => `| ${key} | ${value} |`),
    "",
    COLUMNS,
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ...results.map(row),
    "",
    ...results.flatMap((result) => [section(result), ""]),
    "## Notes",
    "",
    ...notes.map((note) => `- ${note}`),
    "",
  ].join("\n");
  await writeFile(markdownFile, markdown);
  await writeFile(jsonFile, `${JSON.stringify({ run, results }, null, 2)}\n`);
}
