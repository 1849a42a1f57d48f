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
import { accountForTasks, escapedWrites, type TaskExpectation } from "../harness/task-accounting.ts";
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

export async function diskUnwritableScenario(scale: Scale): Promise<ScenarioResult> {
  const size = SIZES[scale];
  const elapsed = startClock();
  const chaos = await ChaosFarm.create("disk");
  const mounted = await canMount();
  const faults: Fault[] = mounted
    ? scale === "full"
      ? ["full", "read-only"]
      : ["full"]
    : ["staging-blocked"];
  if (mounted) await mountTmpfs(chaos.outputDir, 16);
  const violations: string[] = [];
  const ids = Array.from({ length: size.tasks }, (_, i) => `disk-${i}`);
  const expectations: TaskExpectation[] = ids.map((id) => ({
    taskId: id,
    outputSubDir: id,
    outcome: ["completed", "failed"],
    reason: DISK_ERROR,
  }));
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

  const windows: { fault: Fault; from: number; to: number }[] = [];
  const recoverMs: number[] = [];
  for (const [n, fault] of faults.entries()) {
    // Let a share of the tasks run before each fault.
    const before = Math.floor((size.tasks * (n + 1)) / (faults.length + 2));
    await until(
      async () => ((await finishedCount(chaos, MODELS)) >= before ? true : undefined),
      120_000,
      `${before} tasks done before the ${fault} fault`,
    );
    const from = Date.now();
    let restore: () => Promise<void>;
    if (fault === "full") {
      const ballast = await fillUp(chaos.outputDir);
      restore = () => rm(ballast, { force: true });
    } else if (fault === "read-only") {
      await remount(chaos.outputDir, "ro");
      restore = () => remount(chaos.outputDir, "rw");
    } else {
      restore = await blockStaging(path.join(chaos.outputDir, ".wgp-farm-staging"));
    }
    await sleep(size.holdMs);
    await restore();
    const to = Date.now();
    windows.push({ fault, from, to });
    const done = await finishedCount(chaos, MODELS);
    // Recovered: a task completes after the disk is back.
    const completedBefore =
      (await chaos.farm.queues.forModel("t2v").getJobCounts("completed")).completed ?? 0;
    try {
      recoverMs.push(
        await until(
          async () => {
            const completed =
              (await chaos.farm.queues.forModel("t2v").getJobCounts("completed")).completed ?? 0;
            return completed > completedBefore || done >= size.tasks ? Date.now() - to : undefined;
          },
          60_000,
          `a task to complete after the ${fault} fault ended`,
          50,
        ),
      );
    } catch (error) {
      violations.push((error as Error).message);
    }
  }
  try {
    await waitForAllFinished(chaos, MODELS, size.tasks, 180_000);
  } catch (error) {
    violations.push((error as Error).message);
  }
  const servedThroughout = worker.running;
  if (!servedThroughout) violations.push(`the worker exited: ${worker.tail(10)}`);

  // Failures only from the fault: each failed task failed while the disk was unwritable (or during the
  // retries it had left), with a clear error.
  let failed = 0;
  let caught = 0;
  const reasons = new Set<string>();
  for (const id of ids) {
    const details = await findTask(chaos.farm, id, { logLines: 0 });
    if (!details) continue;
    const messages = details.errors.map((e) => e.message);
    if (messages.length > 0) caught += 1;
    for (const message of messages) {
      reasons.add(message.replace(/'[^']*'|\/\S+/g, "…").slice(0, 140));
      if (!DISK_ERROR.test(message))
        violations.push(`${id}: an attempt failed without a disk error: ${message}`);
    }
    if (details.state !== "failed") continue;
    failed += 1;
    const finished = Date.parse(details.finished_at ?? "");
    if (!windows.some((w) => finished >= w.from && finished <= w.to + RETRY_WINDOW_MS + 2_000)) {
      violations.push(`${id} failed at ${details.finished_at}, outside every fault window`);
    }
  }
  worker.kill("SIGTERM");
  await worker.exited;
  const accounting = await accountForTasks(chaos, expectations);
  violations.push(...accounting.problems);
  const escaped = await escapedWrites(chaos);
  violations.push(...escaped.map((name) => `written outside the output root: ${name}`));
  if (mounted) await unmount(chaos.outputDir);
  await chaos.close(keepFiles(violations));
  return {
    id: "disk-unwritable",
    title: "Output disk unwritable mid-run",
    trials: faults.length,
    tasks: size.tasks,
    faults: faults.length,
    lost: accounting.lost.length,
    duplicated: accounting.duplicated.length,
    escaped: escaped.length,
    recoverMs,
    recoveryMeaning: "from the disk being writable again until the next task completed",
    violations,
    figures: [
      [
        "how the disk was made unwritable",
        faults
          .map((f) =>
            f === "full"
              ? "16 MiB tmpfs filled up (ENOSPC)"
              : f === "read-only"
                ? "tmpfs remounted read-only (EROFS)"
                : "a file where the staging folder must be (ENOTDIR; mounting not permitted here)",
          )
          .join("; "),
      ],
      ["unwritable for", `${size.holdMs / 1000} s each time`],
      ["tasks with an attempt caught by the fault / failed for good", `${caught} / ${failed}`],
      ["errors the tasks got", [...reasons].join(" | ") || "–"],
      ["the worker", servedThroughout ? "one process, serving to the end" : "exited (see violations)"],
    ],
    method: [
      `${size.tasks} tasks of 4 steps × 0.1 s on one \`wgp-farm worker\` with 2 slots (engine-py + WanGP double), 3 attempts with 0.5 s backoff.`,
      "Tests run as root, so permissions stop nothing. Where mounting is allowed the output root is its own tmpfs: filled to the last block by a ballast file, later remounted read-only; otherwise a plain file replaces the staging folder. Each fault lasts a few seconds, then the disk is given back.",
    ],
    durationS: elapsed(),
  };
}
