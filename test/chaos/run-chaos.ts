/**
 * `npm run chaos`: the reliability suite at full size — every scenario in turn on this machine, each
 * printing its figures and verdict — then docs/RELIABILITY.md and docs/reliability.json. The short
 * sizes run in `npm test` (test/chaos/chaos.test.ts).
 *
 *   node test/chaos/run-chaos.ts [--only sigkill,load] [--quick] [--no-write]
 *
 * --quick runs the short sizes; --only or --quick leave docs/ alone unless --write is given. With
 * --only and --write, the other scenarios keep their last results in docs/ (the page says which ran again).
 * CHAOS_SEED replays a run's random choices; CHAOS_KEEP=1 keeps a failed scenario's folder in /tmp (CHAOS_KEEP=all: every one).
 */
import { execFileSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { parseArgs } from "node:util";
import { REPORT_JSON, REPORT_MD } from "./harness/paths.ts";
import { type RunInfo, readReport, writeReport } from "./harness/report-writer.ts";
import { type ScenarioResult, startClock, summaryLine, verdictOf } from "./harness/scenario-result.ts";
import { NOTES } from "./notes.ts";
import { SCENARIOS } from "./scenarios/index.ts";

const { values } = parseArgs({
  options: {
    only: { type: "string" },
    quick: { type: "boolean", default: false },
    write: { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});
const only = values.only?.split(",").map((id) => id.trim());
const unknown = only?.filter((id) => !SCENARIOS.some((scenario) => scenario.id === id)) ?? [];
if (unknown.length > 0) {
  process.stderr.write(
    `unknown scenario(s): ${unknown.join(", ")}; known: ${SCENARIOS.map((s) => s.id).join(", ")}\n`,
  );
  process.exit(2);
}
const scale = values.quick ? "short" : "full";
const write = !values["no-write"] && (values.write || (!only && !values.quick));

function version(command: string, args: string[], pattern: RegExp): string {
  try {
    return pattern.exec(execFileSync(command, args, { encoding: "utf8" }))?.[1] ?? "?";
  } catch {
    return "?";
  }
}

const machine = {
  cpu: `${cpus()[0]?.model ?? "?"} × ${cpus().length}`,
  memory: `${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
  node: process.version,
  redis: version("redis-server", ["--version"], /v=(\S+)/),
  python: version("python3", ["--version"], /Python (\S+)/),
};

const startedAt = new Date().toISOString();
const elapsed = startClock();
const results: ScenarioResult[] = [];
for (const scenario of SCENARIOS.filter((s) => !only || only.includes(s.id))) {
  process.stderr.write(`chaos: ${scenario.id} (${scale})…\n`);
  let result: ScenarioResult;
  try {
    result = await scenario.run(scale);
  } catch (error) {
    result = {
      id: scenario.id,
      title: scenario.id,
      trials: 0,
      tasks: 0,
      faults: 0,
      lost: 0,
      duplicated: 0,
      escaped: 0,
      recoverMs: [],
      recoveryMeaning: "",
      violations: [`the scenario itself failed: ${(error as Error).stack ?? String(error)}`],
      figures: [],
      method: [],
      durationS: 0,
    };
  }
  results.push(result);
  process.stdout.write(`${summaryLine(result)}\n`);
  for (const [label, value] of result.figures) process.stdout.write(`    ${label}: ${value}\n`);
}
const failed = results.filter((result) => verdictOf(result) === "FAIL");
process.stdout.write(
  `\nchaos: ${results.length} scenarios in ${elapsed()} s — ${failed.length === 0 ? "PASS" : `FAIL: ${failed.map((r) => r.id).join(", ")}`}\n`,
);
if (write) {
  const run: RunInfo = {
    scale,
    machine,
    startedAt,
    durationS: elapsed(),
    command: `npm run chaos${values.quick ? " -- --quick" : ""}`,
  };
  const previous = only ? await readReport(REPORT_JSON) : undefined;
  const kept = previous
    ? SCENARIOS.flatMap(({ id }) => {
        const result = results.find((r) => r.id === id) ?? previous.results.find((r) => r.id === id);
        return result ? [result] : [];
      })
    : results;
  const update = `${only?.join(", ")} on ${startedAt}, ${scale === "full" ? "full size" : "short size"}, ${run.durationS} s (\`node test/chaos/run-chaos.ts --only ${only?.join(",")}${values.quick ? " --quick" : ""} --write\`)`;
  await writeReport(
    REPORT_MD,
    REPORT_JSON,
    previous ? { ...previous.run, updates: [...(previous.run.updates ?? []), update] } : run,
    kept,
    NOTES,
  );
  process.stdout.write(`chaos: wrote ${REPORT_MD} and ${REPORT_JSON}\n`);
}
process.exit(failed.length === 0 ? 0 : 1);
