import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import path from "node:path";
import { addOptions, createLogger, type OptionValues, option, switchOption } from "@wgp-farm/config";
import { DEFAULT_USERNAME } from "@wgp-farm/dashboard";
import { DEFAULT_PREFIX, DEFAULT_RETRY_POLICY, findTask, type ImportReport } from "@wgp-farm/queue";
import type { Command } from "commander";
import { z } from "zod";
import { MAIN_OUTPUT_DIR } from "../cli-options.js";
import { LocalFarm } from "../local-farm/local-farm.js";
import { formatTable } from "../output/format.js";
import { formatImportReport } from "../output/import-report.js";
import { EXAMPLE_TASKS_FILE, WORKSPACE_ROOT } from "../paths.js";
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
    ...inWorkspace(path.relative(WORKSPACE_ROOT, EXAMPLE_TASKS_FILE)),
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
    default: 3,
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

async function printSummary(
  local: LocalFarm,
  report: ImportReport,
  settings: DemoSettings,
  password: string,
) {
  const rows: string[][] = [];
  for (const { task_id } of [...report.imported, ...report.skipped]) {
    const details = await findTask(local.farm, task_id, { logLines: 0 });
    const result = details?.result as { main_file?: string } | null | undefined;
    rows.push([
      task_id,
      details?.state ?? "?",
      details?.output_dir ?? "",
      result?.main_file ?? details?.errors.at(-1)?.message ?? "",
    ]);
  }
  const out = process.stdout;
  out.write(`\n${formatTable(["task", "state", "output folder", "main file / error"], rows)}\n\n`);
  out.write("Where to look:\n");
  out.write(
    `  outputs      ${settings.mainOutputDir}/<output_sub_dir>/ — the file, task.json and result.json (the manifest)\n`,
  );
  out.write("               dry-run engine: settings.json is exactly what WanGP would have been sent\n");
  if (local.dashboard) {
    out.write(`  dashboard    ${local.dashboard.url}  (user ${DEFAULT_USERNAME}, password ${password})\n`);
  }
  out.write(
    `  CLI          REDIS_URL=${local.redis.url} npx wgp-farm status   (also: ls, status <task_id>)\n`,
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
      "the whole farm on this machine on embedded defaults: private Redis, 2 dry-run slots, dashboard, the example tasks",
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
      },
      retry: DEFAULT_RETRY_POLICY,
      dashboard: { port: settings.port, credentials: { username: DEFAULT_USERNAME, password } },
      logger,
    });
    process.stdout.write(
      `wgp-farm demo: private Redis ${local.redis.url}, ${local.worker.slotIds.length} dry-run slots, dashboard ${local.dashboard?.url} (user ${DEFAULT_USERNAME}, password ${password})\n`,
    );
    const report = await local.importFile(settings.tasksFile);
    process.stdout.write(`${formatImportReport(report, { dryRun: false, source: settings.tasksFile })}\n`);
    const stoppedEarly = await Promise.race([
      local.waitUntilIdle().then(() => false),
      stopRequested.then(() => true),
    ]);
    if (!stoppedEarly) {
      await printSummary(local, report, settings, password);
      if (!settings.exitWhenDone) {
        process.stdout.write("The farm keeps running for the dashboard; Ctrl+C stops it.\n");
        await stopRequested;
      }
    }
    await local.stop(10_000);
  });
}
