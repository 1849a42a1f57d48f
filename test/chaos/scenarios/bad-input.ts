/**
 * Bad input. Property-based (fast-check): thousands of generated task lists mixing valid tasks with
 * bad ones of every kind, and raw garbage, imported into a real Redis: the importer never throws,
 * reports every bad task with the field at fault, imports the valid tasks beside them and queues
 * nothing else. Then a hand-written corpus (bad-input-corpus.ts) goes through `wgp-farm import-tasks`
 * and a worker, with symlinks in the output root that lead outside it: nothing may be written outside.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { type ImportReport, importTaskSource, RedisTaskSink } from "@wgp-farm/queue";
import fc from "fast-check";
import { ChaosFarm, keepFiles } from "../harness/chaos-farm.ts";
import { type Scale, type ScenarioResult, startClock } from "../harness/scenario-result.ts";
import { type GeneratedList, renderList, taskListArbitrary } from "../harness/task-arbitraries.ts";
import { CORPUS } from "./bad-input-corpus.ts";
import { type CorpusOutcome, namesField, runCorpus } from "./bad-input-corpus-run.ts";

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
  const violations: string[] = [];
  const counts: Counts = {
    lists: 0,
    tasks: 0,
    bad: 0,
    imported: 0,
    garbage: 0,
    garbageImported: 0,
    thrown: 0,
  };
  const chaos = await ChaosFarm.create("bad-input");
  const lists = await checkGeneratedLists(chaos, runs.lists, counts, violations);
  await checkRawGarbage(chaos, runs.garbage, counts, violations);
  await chaos.close(keepFiles(violations));
  const corpusFarm = await ChaosFarm.create("corpus");
  const corpus = await runCorpus(corpusFarm, violations);
  await corpusFarm.close(keepFiles(violations));
  return report({ counts, corpus, seed: lists.seed, violations, elapsed });
}

interface Counts {
  lists: number;
  tasks: number;
  bad: number;
  imported: number;
  garbage: number;
  garbageImported: number;
  thrown: number;
}

/** Imports the input; the importer throwing is counted and fails the property. */
async function importOrFail(
  chaos: ChaosFarm,
  input: string | Uint8Array,
  counts: Counts,
): Promise<ImportReport> {
  try {
    return await importText(chaos, input, chaos.dir);
  } catch (error) {
    counts.thrown += 1;
    throw new Error(`the importer threw: ${(error as Error).stack}`);
  }
}

/**
 * Generated task lists: every bad task reported with its field, every valid one imported beside them
 * and given a job, and the task index grown by exactly the imported ones.
 */
async function checkGeneratedLists(
  chaos: ChaosFarm,
  numRuns: number,
  counts: Counts,
  violations: string[],
): Promise<fc.RunDetails<[GeneratedList]>> {
  const mediaDir = path.join(chaos.dir, "media");
  await mkdir(mediaDir, { recursive: true });
  let run = 0;
  const indexBefore = await chaos.farm.redis.hlen(chaos.farm.keys.taskIndex);
  const lists = await fc.check(
    fc.asyncProperty(
      taskListArbitrary(() => `r${(run++).toString(36)}`, mediaDir),
      async (list) => {
        counts.lists += 1;
        counts.tasks += list.entries.length;
        counts.bad += list.entries.filter((entry) => entry.expect.kind === "invalid").length;
        const report = await importOrFail(chaos, renderList(list), counts);
        counts.imported += report.imported.length;
        const problem = await checkReport(chaos, list, report);
        if (problem) throw new Error(problem);
      },
    ),
    { numRuns, seed: Number(process.env.CHAOS_SEED ?? Date.now() % 2 ** 31), endOnFailure: true },
  );
  if (lists.failed) violations.push(`generated task lists: ${failureOf(lists)}`);
  const indexAfter = await chaos.farm.redis.hlen(chaos.farm.keys.taskIndex);
  if (indexAfter - indexBefore !== counts.imported) {
    violations.push(
      `the task index grew by ${indexAfter - indexBefore} for ${counts.imported} imported tasks`,
    );
  }
  return lists;
}

/** Raw garbage, whole files of random bytes, random text and JSON values: never a throw, every refusal explained. */
async function checkRawGarbage(
  chaos: ChaosFarm,
  numRuns: number,
  counts: Counts,
  violations: string[],
): Promise<void> {
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
        const report = await importOrFail(chaos, input, counts);
        counts.garbageImported += report.imported.length;
        for (const entry of report.invalid) {
          if (entry.errors.length === 0)
            throw new Error(`invalid entry without errors: ${JSON.stringify(entry)}`);
        }
      },
    ),
    { numRuns, endOnFailure: true },
  );
  if (garbage.failed) violations.push(`raw garbage: ${failureOf(garbage)}`);
}

interface Outcome {
  counts: Counts;
  corpus: CorpusOutcome;
  seed: number;
  violations: string[];
  elapsed: () => number;
}

function report({ counts, corpus, seed, violations, elapsed }: Outcome): ScenarioResult {
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
      ["fast-check seed", String(seed)],
    ],
    method: [
      "Generated lists: 1–12 entries each, as a JSON array or JSON Lines, split in two chunks at a random byte; valid tasks (unicode, line breaks and tabs in prompts, every optional field in range) mixed with bad ones: malformed JSON, wrong types, prompts over 20,000 characters, tasks over 1 MiB, nesting 65–3,000 deep, control characters in ids/folders/paths/prompts, ids with ':' or only digits or too long, output_sub_dir with '..', absolute or reserved, missing media, URLs of refused schemes (ftp://, plain http:// without --allow-http-media), frames out of range, duplicate ids and output folders. Each bad entry must be reported with its field, every valid one imported and given a job.",
      "The corpus goes through the real `wgp-farm import-tasks --json`, then one `wgp-farm worker` (engine-py + WanGP double). The output root holds symlinks to a folder outside it, to a file, to itself (a loop), a dangling one, and one to a folder inside; a media file is deleted between import and run. Every file outside the output root is listed before and after.",
    ],
    durationS: elapsed(),
  };
}
