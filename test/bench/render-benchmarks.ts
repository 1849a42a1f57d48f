import type { BenchResult } from "./bench-result.ts";

function verdict(pass: boolean | undefined): string {
  if (pass === undefined) return "";
  return pass ? "met" : "**missed**";
}

/** docs/BENCHMARKS.md from one `npm run bench` session. */
export function renderBenchmarks(
  results: readonly { name: string; result: BenchResult }[],
  machine: Record<string, string>,
  quick: boolean,
): string {
  const lines = [
    "# Benchmarks",
    "",
    "Written by `npm run bench` (test/bench/run-all.ts); do not edit by hand. Every number below comes from one",
    "session on one machine, so ratios compare like with like. The machines here are shared and noisy: read",
    "medians, and re-run before drawing fine conclusions. Raw numbers: `docs/benchmarks.json`.",
    "",
    quick
      ? "**Quick run** (`--quick`): fewer runs and smaller inputs than the real benchmark; targets do not apply.\n"
      : "",
    "| machine | |",
    "|---|---|",
    ...Object.entries(machine).map(([key, value]) => `| ${key} | ${value} |`),
    "",
  ];
  for (const { name, result } of results) {
    lines.push(`## ${result.title}`, "", `<a id="${name}"></a>${result.method}`, "");
    lines.push("| measure | result | target | |", "|---|---|---|---|");
    for (const row of result.rows) {
      lines.push(
        `| ${row.measure} | ${row.value} | ${row.target ?? ""} | ${quick ? "" : verdict(row.pass)} |`,
      );
    }
    lines.push("");
    for (const note of result.notes ?? []) lines.push(`- ${note}`);
    if (result.notes?.length) lines.push("");
  }
  return `${lines.filter((line, i, all) => !(line === "" && all[i - 1] === "")).join("\n")}\n`;
}
