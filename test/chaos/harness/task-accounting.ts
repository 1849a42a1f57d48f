/**
 * The end check of every fault scenario: each task is accounted for (completed, or failed/quarantined
 * with the reason it was expected to have), none is missing, each output folder holds exactly one
 * result, nothing is half-published, no staging folder is left, and nothing ran again after it was done.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { findTask, type TaskDetails } from "@wgp-farm/queue";
import type { ChaosFarm } from "./chaos-farm.ts";

export type TaskOutcome = "completed" | "failed" | "quarantined";

/** What a task must end as. */
export interface TaskExpectation {
  taskId: string;
  outputSubDir: string;
  /** One outcome, or several that are all acceptable (a task caught by a fault for a while). */
  outcome: TaskOutcome | readonly TaskOutcome[];
  /** The failure reason must match (failed and quarantined tasks). */
  reason?: RegExp;
}

export interface Accounting {
  /** Tasks in each final state. */
  states: Record<string, number>;
  /** Not finished, or unknown to the farm. */
  lost: string[];
  /** Published more than once, or ran again after finishing. */
  duplicated: string[];
  /** Finished otherwise than expected, or without the expected reason. */
  unexpected: string[];
  /** A failed task with an output folder, or a completed one whose folder is incomplete. */
  halfPublished: string[];
  /** Staging folders left in the output root. */
  stagingLeft: string[];
  /** Details of every problem, one line each. */
  problems: string[];
  /** Engine runs (submits to the WanGP double) per task, when recorded. */
  runs: Map<string, number>;
}

const FINAL_STATES = new Set(["completed", "failed", "quarantined", "cancelled"]);
const STAGING = ".wgp-farm-staging";
const DOCUMENTS = ["result.json", "task.json"];

/** The task's reason: the last error of its job (a quarantine's own reason for a quarantined task). */
export function reasonOf(details: TaskDetails): string {
  if (details.quarantine) return details.quarantine.reason;
  return details.errors.at(-1)?.message ?? "";
}

interface Submit {
  id: string;
  t: number;
}

async function readSubmits(file: string): Promise<Submit[]> {
  const text = await readFile(file, "utf8").catch(() => "");
  const submits: Submit[] = [];
  for (const line of text.split("\n")) {
    if (!line.includes('"submit"')) continue;
    try {
      const record = JSON.parse(line) as { event?: string; id?: string; t?: number };
      if (record.event === "submit" && record.id && record.t) submits.push({ id: record.id, t: record.t });
    } catch {
      // a line cut by a killed engine: not a submit that completed its write
    }
  }
  return submits;
}

/** Every folder under `root` (not the staging area) that holds a result.json, relative to root. */
async function resultFolders(root: string, relative = ""): Promise<string[]> {
  const here = path.join(root, relative);
  const entries = await readdir(here, { withFileTypes: true }).catch(() => []);
  const found: string[] = [];
  if (relative && entries.some((entry) => entry.name === "result.json")) found.push(relative);
  for (const entry of entries) {
    if (!entry.isDirectory() || (relative === "" && entry.name.startsWith(".wgp-farm"))) continue;
    found.push(...(await resultFolders(root, path.join(relative, entry.name))));
  }
  return found;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/**
 * Checks one completed task's folder: its result, exactly its files, nothing left over. A folder of
 * another expected task inside it (a post-step's `<task>/then-1-upscale`) is that task's, not extra.
 */
async function checkPublished(
  outputDir: string,
  expectation: TaskExpectation,
  expectedFolders: ReadonlySet<string>,
): Promise<string | undefined> {
  const folder = path.join(outputDir, expectation.outputSubDir);
  let manifest: { task_id?: string; files?: { name: string }[]; previews?: { name: string }[] };
  try {
    manifest = JSON.parse(await readFile(path.join(folder, "result.json"), "utf8"));
  } catch (error) {
    return `no readable result.json in ${expectation.outputSubDir}: ${(error as Error).message}`;
  }
  if (manifest.task_id !== expectation.taskId) {
    return `result.json in ${expectation.outputSubDir} names task ${manifest.task_id}`;
  }
  // Previews of a real video sit in a folder of their own (previews/…), listed apart from the files.
  const previewFolders = (manifest.previews ?? []).map((preview) => preview.name.split("/")[0] ?? "");
  const want = new Set([...(manifest.files ?? []).map((file) => file.name), ...previewFolders, ...DOCUMENTS]);
  const nested = (name: string) =>
    expectedFolders.has(path.join(path.normalize(expectation.outputSubDir), name));
  const have = new Set((await readdir(folder)).filter((name) => !nested(name)));
  const missing = [...want].filter((name) => !have.has(name));
  const extra = [...have].filter((name) => !want.has(name));
  if (missing.length > 0 || extra.length > 0) {
    return `${expectation.outputSubDir} holds ${[...have].join(", ")}; expected ${[...want].join(", ")}`;
  }
  return undefined;
}

export async function accountForTasks(
  chaos: ChaosFarm,
  expectations: readonly TaskExpectation[],
): Promise<Accounting> {
  const accounting: Accounting = {
    states: {},
    lost: [],
    duplicated: [],
    unexpected: [],
    halfPublished: [],
    stagingLeft: [],
    problems: [],
    runs: new Map(),
  };
  const submits = await readSubmits(chaos.recordFile);
  for (const submit of submits) accounting.runs.set(submit.id, (accounting.runs.get(submit.id) ?? 0) + 1);
  const expectedFolders = new Set(expectations.map((e) => path.normalize(e.outputSubDir)));

  for (const expectation of expectations) {
    const { taskId } = expectation;
    const details = await findTask(chaos.farm, taskId, { logLines: 0 });
    const state = details?.state ?? "unknown";
    accounting.states[state] = (accounting.states[state] ?? 0) + 1;
    if (!details || !FINAL_STATES.has(state)) {
      accounting.lost.push(taskId);
      accounting.problems.push(`${taskId}: ${state}, not finished`);
      continue;
    }
    const reason = reasonOf(details);
    const allowed: readonly string[] =
      typeof expectation.outcome === "string" ? [expectation.outcome] : expectation.outcome;
    if (!allowed.includes(state)) {
      accounting.unexpected.push(taskId);
      accounting.problems.push(`${taskId}: ${state} (expected ${allowed.join(" or ")}): ${reason}`);
    } else if (state !== "completed" && expectation.reason && !expectation.reason.test(reason)) {
      accounting.unexpected.push(taskId);
      accounting.problems.push(`${taskId}: ${state} with reason '${reason}', expected ${expectation.reason}`);
    }
    const folder = path.join(chaos.outputDir, expectation.outputSubDir);
    if (state === "completed") {
      const problem = await checkPublished(chaos.outputDir, expectation, expectedFolders);
      if (problem) {
        (problem.includes("expected") ? accounting.duplicated : accounting.halfPublished).push(taskId);
        accounting.problems.push(`${taskId}: ${problem}`);
      }
      const finishedS = details.finished_at
        ? Date.parse(details.finished_at) / 1000
        : Number.POSITIVE_INFINITY;
      const late = submits.filter((submit) => submit.id === taskId && submit.t > finishedS + 0.001);
      if (late.length > 0) {
        accounting.duplicated.push(taskId);
        accounting.problems.push(`${taskId}: ran ${late.length} more time(s) after it completed`);
      }
    } else if (await exists(folder)) {
      accounting.halfPublished.push(taskId);
      accounting.problems.push(
        `${taskId}: ${state}, yet its output folder ${expectation.outputSubDir} exists`,
      );
    }
  }

  for (const folder of await resultFolders(chaos.outputDir)) {
    if (!expectedFolders.has(path.normalize(folder))) {
      accounting.duplicated.push(folder);
      accounting.problems.push(`a result folder no task owns: ${folder}`);
    }
  }
  const staging = await readdir(path.join(chaos.outputDir, STAGING)).catch(() => [] as string[]);
  accounting.stagingLeft = staging;
  if (staging.length > 0) accounting.problems.push(`staging folders left: ${staging.join(", ")}`);
  return accounting;
}

/** Files and folders directly in the scenario folder that are none of the farm's own: writes that escaped. */
export async function escapedWrites(chaos: ChaosFarm, allowed: readonly RegExp[] = []): Promise<string[]> {
  const known = [
    /^out$/,
    /^redis$/,
    /^state-/,
    /^worker-.*\.log$/,
    /^wangp-record\.jsonl$/,
    /^tasks/,
    /^dashboard/,
    ...allowed,
  ];
  return (await readdir(chaos.dir)).filter((name) => !known.some((pattern) => pattern.test(name)));
}
