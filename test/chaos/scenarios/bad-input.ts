/**
 * Bad input. Property-based (fast-check): thousands of generated task lists mixing valid tasks with
 * bad ones of every kind, and raw garbage, imported into a real Redis: the importer never throws,
 * reports every bad task with the field at fault, imports the valid tasks beside them and queues
 * nothing else. Then a hand-written corpus (bad-input-corpus.ts) goes through `wgp-farm import-tasks`
 * and a worker, with symlinks in the output root that lead outside it: nothing may be written outside.
 */
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { findTask, type ImportReport, importTaskSource, RedisTaskSink } from "@wgp-farm/queue";
import fc from "fast-check";
import { ChaosFarm, keepFiles } from "../harness/chaos-farm.ts";
import { until } from "../harness/farm-watch.ts";
import { timedCli } from "../harness/probes.ts";
import { type Scale, type ScenarioResult, startClock } from "../harness/scenario-result.ts";
import { accountForTasks, reasonOf, type TaskExpectation } from "../harness/task-accounting.ts";
import { type GeneratedList, renderList, taskListArbitrary } from "../harness/task-arbitraries.ts";
import { WorkerProcess } from "../harness/worker-process.ts";
import { afterCorpusImport, CORPUS, type CorpusTask, prepareCorpusFiles } from "./bad-input-corpus.ts";

const RUNS: Record<Scale, { lists: number; garbage: number }> = {
  short: { lists: 150, garbage: 100 },
  full: { lists: 3_000, garbage: 1_000 },
};

const RETRY = { attempts: 3, backoffMs: 200 };

async function importText(
  chaos: ChaosFarm,
  text: string | Uint8Array,
  baseDir: string,
): Promise<ImportReport> {
  const body = typeof text === "string" ? Buffer.from(text) : Buffer.from(text);
  return importTaskSource(
    new RedisTaskSink(chaos.farm, RETRY),
    {
      stream: (async function* () {
        // Two chunks, split anywhere: the reader must not care where chunks end.
        const cut = Math.floor(body.length / 2);
        yield body.subarray(0, cut);
        yield body.subarray(cut);
      })(),
      baseDir,
      name: "chaos:bad-input",
    },
    {},
  );
}

/** `image_start_paths[0]` and `activated_loras.1` name their field too. */
function namesField(errorPath: string, field: string): boolean {
  return errorPath === field || errorPath.startsWith(`${field}[`) || errorPath.startsWith(`${field}.`);
}

/** The counterexample and the error of a failed property, shortened for the report. */
function failureOf<T>(details: fc.RunDetails<T>): string {
  const message = fc.defaultReportMessage(details) ?? "";
  const lines = message.split("\n");
  const got = lines.findIndex((line) => line.startsWith("Got error"));
  const counterexample = (lines.find((line) => line.startsWith("Counterexample")) ?? "").slice(0, 1500);
  return [lines[0], got >= 0 ? lines.slice(got, got + 3).join(" ") : "", counterexample]
    .filter(Boolean)
    .join("\n    ");
}

/** What is wrong with a report of a generated list, or undefined. */
async function checkReport(
  chaos: ChaosFarm,
  list: GeneratedList,
  report: ImportReport,
): Promise<string | undefined> {
  const valid = list.entries.flatMap((entry, index) =>
    entry.expect.kind === "valid" ? [{ index, id: entry.expect.taskId }] : [],
  );
  const imported = report.imported.map((entry) => `${entry.index}:${entry.task_id}`);
  const wanted = valid.map(({ index, id }) => `${index}:${id}`);
  if (imported.join(",") !== wanted.join(",")) return `imported [${imported}] instead of [${wanted}]`;
  if (report.skipped.length > 0) return `skipped ${JSON.stringify(report.skipped)}`;
  if (report.file_errors.length > 0) return `file errors ${JSON.stringify(report.file_errors)}`;
  for (const [index, entry] of list.entries.entries()) {
    if (entry.expect.kind !== "invalid") continue;
    const found = report.invalid.find((invalid) => invalid.index === index);
    if (!found) return `entry ${index} (${entry.expect.what}) not reported as invalid`;
    const path = entry.expect.path;
    const named = found.errors.some((error) =>
      path === "" ? error.path === "" : namesField(error.path, path),
    );
    if (!named) {
      return `entry ${index} (${entry.expect.what}) reported with ${JSON.stringify(found.errors)}, not naming '${path || "(the task)"}'`;
    }
    if (found.errors.some((error) => !error.message)) return `entry ${index}: an error without a message`;
  }
  if (report.invalid.length !== list.entries.length - valid.length) {
    return `${report.invalid.length} invalid reported for ${list.entries.length - valid.length} bad entries`;
  }
  for (const { id } of valid) {
    const job = await chaos.farm.queues
      .byName(report.imported.find((e) => e.task_id === id)?.queue ?? "")
      .getJob(id);
    if (!job) return `${id} reported imported but has no job`;
  }
  return undefined;
}

export async function badInputScenario(scale: Scale): Promise<ScenarioResult> {
  const runs = RUNS[scale];
  const elapsed = startClock();
  const chaos = await ChaosFarm.create("bad-input");
  const violations: string[] = [];
  const mediaDir = path.join(chaos.dir, "media");
  await mkdir(mediaDir, { recursive: true });
  const counts = { lists: 0, tasks: 0, bad: 0, imported: 0, garbage: 0, garbageImported: 0, thrown: 0 };
  let run = 0;
  const indexBefore = await chaos.farm.redis.hlen(chaos.farm.keys.taskIndex);

  // 1. Generated task lists.
  const lists = await fc.check(
    fc.asyncProperty(
      taskListArbitrary(() => `r${(run++).toString(36)}`, mediaDir),
      async (list) => {
        counts.lists += 1;
        counts.tasks += list.entries.length;
        counts.bad += list.entries.filter((entry) => entry.expect.kind === "invalid").length;
        let report: ImportReport;
        try {
          report = await importText(chaos, renderList(list), chaos.dir);
        } catch (error) {
          counts.thrown += 1;
          throw new Error(`the importer threw: ${(error as Error).stack}`);
        }
        counts.imported += report.imported.length;
        const problem = await checkReport(chaos, list, report);
        if (problem) throw new Error(problem);
      },
    ),
    { numRuns: runs.lists, seed: Number(process.env.CHAOS_SEED ?? Date.now() % 2 ** 31), endOnFailure: true },
  );
  if (lists.failed) {
    violations.push(`generated task lists: ${failureOf(lists)}`);
  }
  const indexAfter = await chaos.farm.redis.hlen(chaos.farm.keys.taskIndex);
  if (indexAfter - indexBefore !== counts.imported) {
    violations.push(
      `the task index grew by ${indexAfter - indexBefore} for ${counts.imported} imported tasks`,
    );
  }

  // 2. Raw garbage: random bytes and random text, whole files of it.
  const garbage = await fc.check(
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 4_000 }),
        fc.string({ unit: "binary", maxLength: 4_000 }),
        fc.json({ maxDepth: 8 }),
        fc.array(fc.json({ maxDepth: 4 }), { maxLength: 20 }).map((values) => values.join("\n")),
      ),
      async (input) => {
        counts.garbage += 1;
        let report: ImportReport;
        try {
          report = await importText(chaos, input, chaos.dir);
        } catch (error) {
          counts.thrown += 1;
          throw new Error(`the importer threw: ${(error as Error).stack}`);
        }
        counts.garbageImported += report.imported.length;
        for (const entry of report.invalid) {
          if (entry.errors.length === 0)
            throw new Error(`invalid entry without errors: ${JSON.stringify(entry)}`);
        }
      },
    ),
    { numRuns: runs.garbage, endOnFailure: true },
  );
  if (garbage.failed) {
    violations.push(`raw garbage: ${failureOf(garbage)}`);
  }

  // 3. The hand-written corpus, through the CLI and a worker, with symlinks out of the output root.
  await chaos.close(keepFiles(violations));
  const corpusFarm = await ChaosFarm.create("corpus");
  const corpus = await runCorpus(corpusFarm, violations);
  await corpusFarm.close(keepFiles(violations));
  return {
    id: "bad-input",
    title: "Bad input: generated task lists, raw garbage, a hand-written corpus",
    trials: counts.lists + counts.garbage + 1,
    tasks: counts.tasks + CORPUS.length,
    faults: counts.bad + counts.garbage + corpus.bad,
    lost: corpus.lost,
    duplicated: corpus.duplicated,
    escaped: corpus.escaped,
    recoverMs: [],
    recoveryMeaning: "not applicable",
    violations,
    figures: [
      [
        "generated task lists (fast-check) / tasks in them / bad ones",
        `${counts.lists} / ${counts.tasks} / ${counts.bad}`,
      ],
      ["valid tasks imported beside the bad ones", String(counts.imported)],
      [
        "raw garbage inputs (bytes, text, JSON values)",
        `${counts.garbage} (tasks imported from them: ${counts.garbageImported})`,
      ],
      ["importer exceptions", String(counts.thrown)],
      [
        "hand-written corpus: tasks / refused at import / failed on the worker / completed",
        `${CORPUS.length} / ${corpus.refused} / ${corpus.failed} / ${corpus.completed}`,
      ],
      [
        "symlinks out of the output root tried / files written outside",
        `${corpus.symlinkTasks} / ${corpus.escaped}`,
      ],
      ["fast-check seed", String(lists.seed)],
    ],
    method: [
      "Generated lists: 1–12 entries each, as a JSON array or JSON Lines, split in two chunks at a random byte; valid tasks (unicode, line breaks and tabs in prompts, every optional field in range) mixed with bad ones: malformed JSON, wrong types, prompts over 20,000 characters, tasks over 1 MiB, nesting 65–3,000 deep, control characters in ids/folders/paths/prompts, ids with ':' or only digits or too long, output_sub_dir with '..', absolute or reserved, missing media and URLs, frames out of range, duplicate ids and output folders. Each bad entry must be reported with its field, every valid one imported and given a job.",
      "The corpus goes through the real `wgp-farm import-tasks --json`, then one `wgp-farm worker` (engine-py + WanGP double). The output root holds symlinks to a folder outside it, to a file, to itself (a loop), a dangling one, and one to a folder inside; a media file is deleted between import and run. Every file outside the output root is listed before and after.",
    ],
    durationS: elapsed(),
  };
}

interface CorpusOutcome {
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

async function listTree(root: string, skip: (relative: string) => boolean, relative = ""): Promise<string[]> {
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

async function runCorpus(chaos: ChaosFarm, violations: string[]): Promise<CorpusOutcome> {
  const corpusDir = path.join(chaos.dir, "tasks-corpus");
  const outside = path.join(chaos.dir, "outside");
  await prepareCorpusFiles(chaos, corpusDir, outside);
  const tasksFile = path.join(corpusDir, "tasks.json");
  await writeFile(tasksFile, `[\n${CORPUS.map((task: CorpusTask) => task.text).join(",\n")}\n]\n`);
  const skip = (relative: string) =>
    relative === "out" ||
    relative.startsWith("out/") ||
    relative.startsWith("redis") ||
    relative.startsWith("state-") ||
    relative.endsWith(".log") ||
    relative === "wangp-record.jsonl";
  const before = new Set(await listTree(chaos.dir, skip));

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
    return emptyOutcome();
  }
  if (result.code !== 1)
    violations.push(`corpus: import-tasks exited ${result.code}, expected 1 (some tasks invalid)`);
  const outcome = emptyOutcome();
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
  await afterCorpusImport(corpusDir);
  const worker = WorkerProcess.spawn(chaos, { name: "corpus-host", slots: 2, engine: "wangp" });
  await worker.ready;
  const deadline = Date.now() + 120_000;
  for (const expectation of expectations) {
    await until(
      async () => {
        const details = await findTask(chaos.farm, expectation.taskId, { logLines: 0 });
        return details && ["completed", "failed", "quarantined"].includes(details.state) ? true : undefined;
      },
      Math.max(1, deadline - Date.now()),
      `corpus task ${expectation.taskId} to finish`,
      200,
    ).catch((error: Error) => violations.push(error.message));
  }
  worker.kill("SIGTERM");
  await worker.exited;
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
  const after = await listTree(chaos.dir, skip);
  const written = after.filter((file) => !before.has(file) && !file.startsWith("tasks-corpus"));
  const outsideNow = await listTree(outside, () => false);
  outcome.escaped = written.length + outsideNow.length;
  for (const file of [...written, ...outsideNow.map((f) => `outside/${f}`)])
    violations.push(`written outside the output root: ${file}`);
  await rm(corpusDir, { recursive: true, force: true });
  return outcome;
}
