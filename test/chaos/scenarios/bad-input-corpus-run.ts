/**
 * The hand-written corpus (bad-input-corpus.ts) through the real `wgp-farm import-tasks --json` and one
 * `wgp-farm worker`, with symlinks in the output root that lead outside it: each task refused at import
 * with its field named, or run to the end it was meant to have, and nothing written outside.
 */
import { readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { findTask, type ImportReport } from "@wgp-farm/queue";
import type { ChaosFarm } from "../harness/chaos-farm.ts";
import { until } from "../harness/farm-watch.ts";
import { timedCli } from "../harness/probes.ts";
import { recordFailure, stopWorker } from "../harness/scenario-steps.ts";
import { accountForTasks, reasonOf, type TaskExpectation } from "../harness/task-accounting.ts";
import { WorkerProcess } from "../harness/worker-process.ts";
import { afterCorpusImport, CORPUS, type CorpusTask, prepareCorpusFiles } from "./bad-input-corpus.ts";

export interface CorpusOutcome {
  bad: number;
  refused: number;
  failed: number;
  completed: number;
  lost: number;
  duplicated: number;
  escaped: number;
  symlinkTasks: number;
}

function emptyOutcome(): CorpusOutcome {
  return { bad: 0, refused: 0, failed: 0, completed: 0, lost: 0, duplicated: 0, escaped: 0, symlinkTasks: 0 };
}

/** `image_start_paths[0]` and `activated_loras.1` name their field too. */
export function namesField(errorPath: string, field: string): boolean {
  return errorPath === field || errorPath.startsWith(`${field}[`) || errorPath.startsWith(`${field}.`);
}

/** The farm's own files in the scenario folder, left out of the listing of what was written. */
function isFarmFile(relative: string): boolean {
  return (
    relative === "out" ||
    relative.startsWith("out/") ||
    relative.startsWith("redis") ||
    relative.startsWith("state-") ||
    relative.endsWith(".log") ||
    relative === "wangp-record.jsonl"
  );
}

async function listTree(root: string, skip: (relative: string) => boolean, relative = ""): Promise<string[]> {
  // A folder that is not there (yet) has nothing in it.
  const entries = await readdir(path.join(root, relative), { withFileTypes: true }).catch(() => []);
  const found: string[] = [];
  for (const entry of entries) {
    const child = path.join(relative, entry.name);
    if (skip(child)) continue;
    found.push(child);
    if (entry.isDirectory()) found.push(...(await listTree(root, skip, child)));
  }
  return found;
}

export async function runCorpus(chaos: ChaosFarm, violations: string[]): Promise<CorpusOutcome> {
  const corpusDir = path.join(chaos.dir, "tasks-corpus");
  const outside = path.join(chaos.dir, "outside");
  await prepareCorpusFiles(chaos, corpusDir, outside);
  const tasksFile = path.join(corpusDir, "tasks.json");
  await writeFile(tasksFile, `[\n${CORPUS.map((task: CorpusTask) => task.text).join(",\n")}\n]\n`);
  const before = new Set(await listTree(chaos.dir, isFarmFile));
  const report = await importCorpus(chaos, tasksFile, violations);
  if (!report) return emptyOutcome();
  const outcome = emptyOutcome();
  const expectations = checkImportVerdicts(report, outcome, violations);
  await afterCorpusImport(corpusDir);
  await runOnAWorker(chaos, expectations, violations);
  await checkEnds(chaos, expectations, outcome, violations);
  outcome.escaped = await checkNothingWrittenOutside(chaos, before, outside, violations);
  await rm(corpusDir, { recursive: true, force: true });
  return outcome;
}

/** `wgp-farm import-tasks --json`: its report, or undefined (a violation) when it printed none. */
async function importCorpus(
  chaos: ChaosFarm,
  tasksFile: string,
  violations: string[],
): Promise<ImportReport | undefined> {
  const result = await timedCli(chaos, [
    "import-tasks",
    tasksFile,
    "--json",
    "--attempts",
    "3",
    "--backoff-ms",
    "200",
  ]);
  let report: ImportReport;
  try {
    report = JSON.parse(result.stdout) as ImportReport;
  } catch {
    violations.push(
      `corpus: import-tasks printed no JSON (exit ${result.code}): ${result.stderr.slice(-400)}`,
    );
    return undefined;
  }
  if (result.code !== 1)
    violations.push(`corpus: import-tasks exited ${result.code}, expected 1 (some tasks invalid)`);
  return report;
}

/** Each task refused (naming its field) or imported as the corpus says; the imported ones' expectations. */
function checkImportVerdicts(
  report: ImportReport,
  outcome: CorpusOutcome,
  violations: string[],
): TaskExpectation[] {
  const expectations: TaskExpectation[] = [];
  for (const [index, task] of CORPUS.entries()) {
    if (task.expect !== "completed") outcome.bad += 1;
    if (task.symlink) outcome.symlinkTasks += 1;
    const invalid = report.invalid.find((entry) => entry.index === index);
    const imported = report.imported.find((entry) => entry.index === index);
    if (task.expect === "refused") {
      if (!invalid) violations.push(`corpus ${index} (${task.what}): not refused at import`);
      else if (
        !invalid.errors.some((e) =>
          task.field === "" ? e.path === "" : namesField(e.path, task.field ?? ""),
        )
      ) {
        violations.push(
          `corpus ${index} (${task.what}): refused with ${JSON.stringify(invalid.errors)}, not naming '${task.field}'`,
        );
      } else outcome.refused += 1;
      continue;
    }
    if (!imported) {
      violations.push(`corpus ${index} (${task.what}): not imported: ${JSON.stringify(invalid?.errors)}`);
      continue;
    }
    expectations.push({
      taskId: imported.task_id,
      outputSubDir: task.publishedAt ?? task.outputSubDir ?? imported.task_id,
      outcome: task.expect,
      reason: task.reason,
    });
  }
  return expectations;
}

/** One worker runs the imported tasks until each has ended (2 minutes for all of them). */
async function runOnAWorker(
  chaos: ChaosFarm,
  expectations: readonly TaskExpectation[],
  violations: string[],
): Promise<void> {
  const worker = WorkerProcess.spawn(chaos, { name: "corpus-host", slots: 2, engine: "wangp" });
  await worker.ready;
  const deadline = Date.now() + 120_000;
  for (const expectation of expectations) {
    const ended = until(
      async () => {
        const details = await findTask(chaos.farm, expectation.taskId, { logLines: 0 });
        return details && ["completed", "failed", "quarantined"].includes(details.state) ? true : undefined;
      },
      Math.max(1, deadline - Date.now()),
      `corpus task ${expectation.taskId} to finish`,
      200,
    );
    await recordFailure(ended, violations);
  }
  await stopWorker(worker);
}

/** Accounting of the imported tasks; an invalid task must not have been retried. */
async function checkEnds(
  chaos: ChaosFarm,
  expectations: readonly TaskExpectation[],
  outcome: CorpusOutcome,
  violations: string[],
): Promise<void> {
  const accounting = await accountForTasks(chaos, expectations);
  violations.push(...accounting.problems);
  for (const expectation of expectations) {
    const details = await findTask(chaos.farm, expectation.taskId, { logLines: 0 });
    if (details?.state === "completed") outcome.completed += 1;
    if (details?.state === "failed") {
      outcome.failed += 1;
      if (details.attempts.made > 1 && /^invalid: /.test(reasonOf(details))) {
        violations.push(
          `corpus ${expectation.taskId}: an invalid task was tried ${details.attempts.made} times`,
        );
      }
    }
  }
  outcome.lost = accounting.lost.length;
  outcome.duplicated = accounting.duplicated.length;
}

/** Files new in the scenario folder outside the output root, and anything in `outside`: how many. */
async function checkNothingWrittenOutside(
  chaos: ChaosFarm,
  before: ReadonlySet<string>,
  outside: string,
  violations: string[],
): Promise<number> {
  const after = await listTree(chaos.dir, isFarmFile);
  const written = after.filter((file) => !before.has(file) && !file.startsWith("tasks-corpus"));
  const outsideNow = await listTree(outside, () => false);
  for (const file of [...written, ...outsideNow.map((f) => `outside/${f}`)])
    violations.push(`written outside the output root: ${file}`);
  return written.length + outsideNow.length;
}
