import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { addOptions, createLogger, type OptionValues, option, switchOption } from "@wgp-farm/config";
import { DEFAULT_USERNAME } from "@wgp-farm/dashboard";
import {
  cancelTask,
  DEFAULT_PREFIX,
  DEFAULT_RETRY_POLICY,
  FarmStats,
  findTask,
  type ImportReport,
  type RetryPolicy,
  type TaskDetails,
} from "@wgp-farm/queue";
import type { Command } from "commander";
import { z } from "zod";
import { MAIN_OUTPUT_DIR } from "../cli-options.js";
import { LocalFarm } from "../local-farm/local-farm.js";
import { formatTable, plural } from "../output/format.js";
import { formatImportReport } from "../output/import-report.js";
import { DEMO_TASKS_FILE, WORKSPACE_ROOT } from "../paths.js";
import { untilStopSignal } from "../stop-signal.js";

/** Workspace-relative defaults are shown relative, so that --help and the README read the same anywhere. */
function inWorkspace(...parts: string[]) {
  return { default: path.join(WORKSPACE_ROOT, ...parts), defaultText: parts.join("/") };
}

/** The demo runs on embedded defaults: none of its options reads the environment. */
const DEMO_OPTIONS = {
  tasksFile: option({
    flag: "--tasks-file",
    takes: "file",
    description: "tasks to run",
    schema: z.string().min(1),
    ...inWorkspace(path.relative(WORKSPACE_ROOT, DEMO_TASKS_FILE)),
  }),
  dataDir: option({
    flag: "--data-dir",
    takes: "dir",
    description: "the private Redis's folder (emptied at start)",
    schema: z.string().min(1),
    ...inWorkspace(".wgp-farm", "demo"),
  }),
  mainOutputDir: {
    ...MAIN_OUTPUT_DIR,
    description: "where results go",
    env: undefined,
    required: false,
    ...inWorkspace("demo-output"),
  },
  slots: option({
    flag: "--slots",
    takes: "n",
    description: "dry-run slots",
    schema: z.coerce.number().int().min(1).max(16),
    default: 2,
  }),
  jobSeconds: option({
    flag: "--job-seconds",
    takes: "s",
    description: "how long each dry-run job takes",
    schema: z.coerce.number().min(0),
    default: 4,
  }),
  port: option({
    flag: "--port",
    takes: "port",
    description: "dashboard port on 127.0.0.1 (0: any free port)",
    schema: z.coerce.number().int().min(0).max(65535),
    default: 3000,
  }),
  exitWhenDone: switchOption({
    flag: "--exit-when-done",
    description: "stop once every task has ended instead of keeping the dashboard up",
  }),
};
type DemoSettings = OptionValues<typeof DEMO_OPTIONS>;

/** A password for this run's dashboard, printed once. */
function generatedPassword(): string {
  return randomBytes(12).toString("base64url");
}

/** The demo's rehearsals, named in examples/demo-tasks.json. */
const RETRIED_TASK = "demo_retried_once";
const CANCELLED_TASK = "demo_cancelled";

/**
 * The farm's retry policy, with a backoff of at most four jobs' time: the rehearsed retry waits out
 * the backoff with nothing else left to run, and with short jobs (`--job-seconds 0.2`) the default
 * 15 s was most of the demo. At the default 4 s jobs it is the farm's default.
 */
function demoRetryPolicy(jobSeconds: number): RetryPolicy {
  return { ...DEFAULT_RETRY_POLICY, backoffMs: Math.min(DEFAULT_RETRY_POLICY.backoffMs, jobSeconds * 4_000) };
}

/** Cancels the demo's low-priority task while it still waits, to show what a cancel leaves. */
async function cancelOneWaitingTask(
  local: LocalFarm,
  report: ImportReport,
  afterMs: number,
  stop: Promise<unknown>,
) {
  if (!report.imported.some((entry) => entry.task_id === CANCELLED_TASK)) return;
  // Its low priority keeps it waiting behind every other task: one job's time in, it still waits.
  const waited = await Promise.race([sleep(afterMs).then(() => true), stop.then(() => false)]);
  if (!waited) return;
  const cancelled = await cancelTask(local.farm, CANCELLED_TASK, "cancelled by the demo to show a cancel");
  process.stdout.write(
    `demo: cancelled ${CANCELLED_TASK} while it was ${cancelled.state} (${cancelled.outcome})\n`,
  );
}

function mainFileOrError(details: TaskDetails | null): string {
  const result = details?.result as { main_file?: string } | null | undefined;
  return result?.main_file ?? details?.errors.at(-1)?.message ?? "";
}

async function printSummary(
  local: LocalFarm,
  report: ImportReport,
  settings: DemoSettings,
  password: string,
  elapsedMs: number,
) {
  const tasks = await Promise.all(
    [...report.imported, ...report.skipped].map(({ task_id }) =>
      findTask(local.farm, task_id, { logLines: 0 }),
    ),
  );
  const byState = new Map<string, number>();
  for (const task of tasks) byState.set(task?.state ?? "?", (byState.get(task?.state ?? "?") ?? 0) + 1);
  const stats = await new FarmStats(local.farm.redis, local.farm.keys).read();
  const notable = tasks.filter(
    (task): task is TaskDetails =>
      task !== null &&
      (task.state !== "completed" || task.attempts.started > 1 || task.import_warnings.length > 0),
  );
  const out = process.stdout;
  out.write(
    `\nWhat happened: ${tasks.length} tasks in ${Math.round(elapsedMs / 1000)} s on ${local.worker.slotIds.length} slots — ${[...byState].map(([state, n]) => `${n} ${state}`).join(", ")}; ${plural(stats.model_switches, "model switch", "model switches")}, ${plural(stats.retried, "retried attempt")}.\n`,
  );
  if (notable.length > 0) {
    const rows = notable.map((task) => [
      task.task_id,
      task.state,
      String(task.attempts.started),
      task.import_warnings.length > 0
        ? `import warning: ${task.import_warnings.map((w) => `${w.path}: ${w.message}`).join("; ")}`
        : mainFileOrError(task),
    ]);
    out.write(`\n${formatTable(["task", "state", "attempts", "main file / error / warning"], rows)}\n`);
  }
  out.write("\nWhere to look:\n");
  out.write(
    `  outputs      ${settings.mainOutputDir}/demo/<task_id>/ — the file, task.json and result.json (the manifest)\n`,
  );
  out.write("               dry-run engine: settings.json is exactly what WanGP would have been sent\n");
  if (local.dashboard) {
    out.write(
      `  dashboard    ${local.dashboard.url}  (user ${DEFAULT_USERNAME}, password ${password}): queues, the farm view, each task's attempts and log\n`,
    );
  }
  out.write(
    `  CLI          REDIS_URL=${local.redis.url} npx wgp-farm status ${RETRIED_TASK}   (also: status, ls --state failed, ls --state cancelled)\n`,
  );
  out.write("  on a GPU box npx wgp-farm headless --tasks-file tasks.json --wangp-root /path/to/Wan2GP\n\n");
}

/**
 * The README's "run the main job" command: the whole farm on this machine on its embedded defaults —
 * a private Redis, a worker with 2 slots on the dry-run engine, the dashboard with a generated
 * password, the example tasks — then a summary of where everything is.
 */
export function registerDemo(program: Command): void {
  const command = program
    .command("demo")
    .description(
      "the whole farm on this machine on embedded defaults: private Redis, 2 dry-run slots, dashboard, and a minute of demo tasks over three models (one retried, one cancelled)",
    );
  const readOptions = addOptions(command, DEMO_OPTIONS);
  command.action(async () => {
    const stopRequested = untilStopSignal();
    const settings = readOptions();
    const logger = createLogger({ name: "demo" });
    const password = generatedPassword();
    // Each demo starts from a clean slate, so the example tasks run every time.
    await rm(settings.dataDir, { recursive: true, force: true });
    const local = await LocalFarm.start({
      redisDataDir: settings.dataDir,
      prefix: DEFAULT_PREFIX,
      worker: {
        mainOutputDir: settings.mainOutputDir,
        engine: "dry-run",
        gpus: "auto",
        slots: settings.slots,
        stateDir: path.join(settings.dataDir, "engines"),
        dryRunDurationS: settings.jobSeconds,
        // The dry-run engine rehearses a GPU running out of memory on this task's first attempt.
        engineEnv: {
          WGP_FARM_DRY_RUN_FAIL_ONCE: RETRIED_TASK,
          WGP_FARM_DRY_RUN_FAIL_ONCE_DIR: path.join(settings.dataDir, "rehearsals"),
        },
      },
      retry: demoRetryPolicy(settings.jobSeconds),
      dashboard: { port: settings.port, credentials: { username: DEFAULT_USERNAME, password } },
      logger,
    });
    process.stdout.write(
      `wgp-farm demo: private Redis ${local.redis.url}, ${local.worker.slotIds.length} dry-run slots, dashboard ${local.dashboard?.url} (user ${DEFAULT_USERNAME}, password ${password})\n`,
    );
    const startedAt = Date.now();
    const report = await local.importFile(settings.tasksFile);
    process.stdout.write(`${formatImportReport(report, { dryRun: false, source: settings.tasksFile })}\n`);
    const cancelling = cancelOneWaitingTask(local, report, settings.jobSeconds * 1000, stopRequested);
    const stoppedEarly = await Promise.race([
      Promise.all([local.waitUntilIdle(), cancelling]).then(() => false),
      stopRequested.then(() => true),
    ]);
    if (!stoppedEarly) {
      await printSummary(local, report, settings, password, Date.now() - startedAt);
      if (!settings.exitWhenDone) {
        process.stdout.write("The farm keeps running for the dashboard; Ctrl+C stops it.\n");
        await stopRequested;
      }
    }
    await local.stop(10_000);
  });
}
