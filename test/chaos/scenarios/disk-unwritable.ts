/**
 * The output folder's disk made unwritable mid-run, then writable again. Where this process may mount
 * (root with CAP_SYS_ADMIN), the main output dir is a small tmpfs: first it is filled up (ENOSPC), later
 * remounted read-only (EROFS). Elsewhere a plain file is put where the staging folder must be
 * (ENOTDIR). chmod would not do: the tests run as root. Jobs caught by the fault must fail with a clear
 * error (or succeed on a retry once the disk is back), nothing may be half-published, and the same
 * worker process must go on serving jobs afterwards.
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { findTask } from "@wgp-farm/queue";
import { ChaosFarm, keepFiles } from "../harness/chaos-farm.ts";
import { blockStaging, canMount, fillUp, mountTmpfs, remount, unmount } from "../harness/disk-faults.ts";
import { finishedCount, until, waitForAllFinished } from "../harness/farm-watch.ts";
import { type Scale, type ScenarioResult, startClock } from "../harness/scenario-result.ts";
import {
  checkTheEnd,
  damageOf,
  type EndCheck,
  recordFailure,
  stopWorker,
} from "../harness/scenario-steps.ts";
import type { TaskExpectation } from "../harness/task-accounting.ts";
import { WorkerProcess } from "../harness/worker-process.ts";

type Fault = "full" | "read-only" | "staging-blocked";

const SIZES: Record<Scale, { tasks: number; holdMs: number }> = {
  short: { tasks: 16, holdMs: 3_500 },
  full: { tasks: 80, holdMs: 4_000 },
};
const MODELS = ["t2v"];
const DISK_ERROR = /no space left on device|read-only file system|not a directory|ENOSPC|EROFS|ENOTDIR/i;
/** Retries of a job caught by the fault: 3 attempts, 0.5 s then 1 s apart. */
const RETRY_WINDOW_MS = 3_000;

type Size = (typeof SIZES)[Scale];

/** When a fault held the disk, for telling a failure it caused from any other. */
interface FaultWindow {
  fault: Fault;
  from: number;
  to: number;
}

export async function diskUnwritableScenario(scale: Scale): Promise<ScenarioResult> {
  const size = SIZES[scale];
  const elapsed = startClock();
  const chaos = await ChaosFarm.create("disk");
  const violations: string[] = [];
  const faults = await prepareDisk(chaos, scale);
  const ids = Array.from({ length: size.tasks }, (_, i) => `disk-${i}`);
  await chaos.import(
    ids.map((id, i) => ({ task_id: id, prompt: `waves on rocks, ${id}`, model: "t2v", steps: 4, seed: i })),
    { attempts: 3, backoffMs: 500 },
  );
  const worker = WorkerProcess.spawn(chaos, {
    name: "disk-host",
    slots: 2,
    engine: "wangp",
    env: { FAKE_WANGP_STEP_S: "0.1" },
  });
  await worker.ready;
  const { windows, recoverMs } = await breakTheDiskInTurn(chaos, faults, size, violations);
  await recordFailure(waitForAllFinished(chaos, MODELS, size.tasks, 180_000), violations);
  const servedThroughout = worker.running;
  if (!servedThroughout) violations.push(`the worker exited: ${worker.tail(10)}`);
  const failures = await checkFailuresCameFromTheFault(chaos, ids, windows, violations);
  await stopWorker(worker);
  const end = await checkTheEnd(chaos, ids.map(expectationOf), violations);
  if (faults.mounted) await unmount(chaos.outputDir);
  await chaos.close(keepFiles(violations));
  return report({ size, faults, recoverMs, failures, servedThroughout, end, violations, elapsed });
}

interface Faults {
  /** Whether the output root is a tmpfs of its own (mounting allowed here). */
  mounted: boolean;
  list: Fault[];
}

/** Mounts a 16 MiB tmpfs on the output root where allowed; says which faults this machine allows. */
async function prepareDisk(chaos: ChaosFarm, scale: Scale): Promise<Faults> {
  const mounted = await canMount();
  if (mounted) await mountTmpfs(chaos.outputDir, 16);
  const list: Fault[] = mounted ? (scale === "full" ? ["full", "read-only"] : ["full"]) : ["staging-blocked"];
  return { mounted, list };
}

/** A task caught by the fault may fail with a disk error; every other completes. */
function expectationOf(id: string): TaskExpectation {
  return { taskId: id, outputSubDir: id, outcome: ["completed", "failed"], reason: DISK_ERROR };
}

/** Makes the disk unwritable in the given way; resolves to what gives it back. */
async function makeUnwritable(chaos: ChaosFarm, fault: Fault): Promise<() => Promise<void>> {
  if (fault === "full") {
    const ballast = await fillUp(chaos.outputDir);
    return () => rm(ballast, { force: true });
  }
  if (fault === "read-only") {
    await remount(chaos.outputDir, "ro");
    return () => remount(chaos.outputDir, "rw");
  }
  return blockStaging(path.join(chaos.outputDir, ".wgp-farm-staging"));
}

/** The fault loop: each fault after a share of the tasks has run, held a few seconds, then given back. */
async function breakTheDiskInTurn(
  chaos: ChaosFarm,
  faults: Faults,
  size: Size,
  violations: string[],
): Promise<{ windows: FaultWindow[]; recoverMs: number[] }> {
  const windows: FaultWindow[] = [];
  const recoverMs: number[] = [];
  for (const [n, fault] of faults.list.entries()) {
    // Let a share of the tasks run before each fault.
    const before = Math.floor((size.tasks * (n + 1)) / (faults.list.length + 2));
    await until(
      async () => ((await finishedCount(chaos, MODELS)) >= before ? true : undefined),
      120_000,
      `${before} tasks done before the ${fault} fault`,
    );
    const from = Date.now();
    const restore = await makeUnwritable(chaos, fault);
    await sleep(size.holdMs);
    await restore();
    const to = Date.now();
    windows.push({ fault, from, to });
    const recovered = await recordFailure(waitForACompletion(chaos, size, fault, to), violations);
    if (recovered !== undefined) recoverMs.push(recovered);
  }
  return { windows, recoverMs };
}

/** Recovered: a task completes after the disk is back (ms from `backAt`). */
async function waitForACompletion(
  chaos: ChaosFarm,
  size: Size,
  fault: Fault,
  backAt: number,
): Promise<number> {
  const done = await finishedCount(chaos, MODELS);
  const completed = async () =>
    (await chaos.farm.queues.forModel("t2v").getJobCounts("completed")).completed ?? 0;
  const completedBefore = await completed();
  return until(
    async () =>
      (await completed()) > completedBefore || done >= size.tasks ? Date.now() - backAt : undefined,
    60_000,
    `a task to complete after the ${fault} fault ended`,
    50,
  );
}

interface Failures {
  /** Tasks with an attempt caught by the fault. */
  caught: number;
  /** Tasks failed for good. */
  failed: number;
  /** The errors they got, paths left out. */
  reasons: Set<string>;
}

/**
 * Failures only from the fault: each failed task failed while the disk was unwritable (or during the
 * retries it had left), with a clear error.
 */
async function checkFailuresCameFromTheFault(
  chaos: ChaosFarm,
  ids: readonly string[],
  windows: readonly FaultWindow[],
  violations: string[],
): Promise<Failures> {
  const failures: Failures = { caught: 0, failed: 0, reasons: new Set() };
  for (const id of ids) {
    const details = await findTask(chaos.farm, id, { logLines: 0 });
    if (!details) continue;
    const messages = details.errors.map((e) => e.message);
    if (messages.length > 0) failures.caught += 1;
    for (const message of messages) {
      failures.reasons.add(message.replace(/'[^']*'|\/\S+/g, "…").slice(0, 140));
      if (!DISK_ERROR.test(message))
        violations.push(`${id}: an attempt failed without a disk error: ${message}`);
    }
    if (details.state !== "failed") continue;
    failures.failed += 1;
    const finished = Date.parse(details.finished_at ?? "");
    if (!windows.some((w) => finished >= w.from && finished <= w.to + RETRY_WINDOW_MS + 2_000)) {
      violations.push(`${id} failed at ${details.finished_at}, outside every fault window`);
    }
  }
  return failures;
}

const FAULT_DESCRIPTIONS: Record<Fault, string> = {
  full: "16 MiB tmpfs filled up (ENOSPC)",
  "read-only": "tmpfs remounted read-only (EROFS)",
  "staging-blocked": "a file where the staging folder must be (ENOTDIR; mounting not permitted here)",
};

interface Outcome {
  size: Size;
  faults: Faults;
  recoverMs: number[];
  failures: Failures;
  servedThroughout: boolean;
  end: EndCheck;
  violations: string[];
  elapsed: () => number;
}

function report({
  size,
  faults,
  recoverMs,
  failures,
  servedThroughout,
  end,
  violations,
  elapsed,
}: Outcome): ScenarioResult {
  return {
    id: "disk-unwritable",
    title: "Output disk unwritable mid-run",
    trials: faults.list.length,
    tasks: size.tasks,
    faults: faults.list.length,
    ...damageOf(end),
    recoverMs,
    recoveryMeaning: "from the disk being writable again until the next task completed",
    violations,
    figures: [
      ["how the disk was made unwritable", faults.list.map((f) => FAULT_DESCRIPTIONS[f]).join("; ")],
      ["unwritable for", `${size.holdMs / 1000} s each time`],
      [
        "tasks with an attempt caught by the fault / failed for good",
        `${failures.caught} / ${failures.failed}`,
      ],
      ["errors the tasks got", [...failures.reasons].join(" | ") || "–"],
      ["the worker", servedThroughout ? "one process, serving to the end" : "exited (see violations)"],
    ],
    method: [
      `${size.tasks} tasks of 4 steps × 0.1 s on one \`wgp-farm worker\` with 2 slots (engine-py + WanGP double), 3 attempts with 0.5 s backoff.`,
      "Tests run as root, so permissions stop nothing. Where mounting is allowed the output root is its own tmpfs: filled to the last block by a ballast file, later remounted read-only; otherwise a plain file replaces the staging folder. Each fault lasts a few seconds, then the disk is given back.",
    ],
    durationS: elapsed(),
  };
}
