import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { createLogger } from "@wgp-farm/config";
import type { Command } from "commander";
import { z } from "zod";
import { addOptions, type CliOption, settingsOf } from "../cli-options.js";
import { CliError } from "../exit-codes.js";
import { retryPolicyOf, TASK_INTAKE_OPTIONS, TaskIntakeSettings } from "../intake-options.js";
import { LocalFarm } from "../local-farm/local-farm.js";
import { untilStopSignal } from "../stop-signal.js";
import { WORKER_OPTIONS, WorkerSettings, workerOptionsOf } from "../worker-settings.js";
import { DEFAULT_POLL_INTERVAL_S } from "./watch.js";

/** The old headless.py's default output folder. */
export const DEFAULT_HEADLESS_OUTPUT_DIR = "./headless_outputs";

const HeadlessSettings = WorkerSettings.extend(TaskIntakeSettings.shape).extend({
  tasksFile: z.string({ error: "--tasks-file is required: the tasks.json to process" }).min(1),
  mainOutputDir: z.string().min(1).default(DEFAULT_HEADLESS_OUTPUT_DIR),
  pollInterval: z.coerce.number().positive().default(DEFAULT_POLL_INTERVAL_S),
  dataDir: z.string().optional(),
  dashboardPort: z.coerce.number().int().min(0).max(65535).optional(),
  redisUrl: z.string().optional(),
});

const HEADLESS_OPTIONS: readonly CliOption[] = [
  {
    flags: "--tasks-file <file>",
    description: "the tasks.json to process (required); tasks appended to it later are picked up",
    env: "WGP_FARM_TASKS_FILE",
  },
  {
    flags: "--main-output-dir <dir>",
    description: "where each task's results go, in <output_sub_dir or task_id>/",
    env: "WGP_FARM_MAIN_OUTPUT_DIR",
    defaultText: DEFAULT_HEADLESS_OUTPUT_DIR,
  },
  {
    flags: "--poll-interval <s>",
    description: "seconds between checks of the tasks file when no file-system event arrives",
    env: "WGP_FARM_POLL_INTERVAL",
    defaultText: String(DEFAULT_POLL_INTERVAL_S),
  },
  {
    flags: "--data-dir <dir>",
    description: "the private Redis's folder (AOF), when REDIS_URL is not set",
    env: "WGP_FARM_DATA_DIR",
    defaultText: "<main-output-dir>/.wgp-farm-redis",
  },
  {
    flags: "--dashboard-port <port>",
    description: "also serve the dashboard on 127.0.0.1:<port> (credentials from WGP_FARM_DASHBOARD_*)",
    env: "WGP_FARM_DASHBOARD_PORT",
    defaultText: "no dashboard",
  },
];

const SHARED_WITH_HEADLESS = new Set(["--main-output-dir <dir>"]);

/** Headless's Redis defaults to a private one, not to a Redis on the default port. */
const INTAKE_OPTIONS: readonly CliOption[] = TASK_INTAKE_OPTIONS.map((option) =>
  option.flags.startsWith("--redis-url")
    ? { ...option, defaultText: "a private redis-server with AOF in --data-dir" }
    : option,
);

/** The old script ran from inside the WanGP checkout: so does `headless` when --wangp-root is absent. */
function wangpRootOf(given: string | undefined, engine: string): string | undefined {
  if (given || engine !== "wangp") return given;
  if (existsSync(path.join(process.cwd(), "shared", "api.py"))) return process.cwd();
  throw new CliError(
    "--wangp-root is required with --engine wangp (or run from inside the WanGP checkout); use --engine dry-run to try without WanGP",
  );
}

export function registerHeadless(program: Command): void {
  const command = program
    .command("headless")
    .description(
      "the old headless.py on one machine: watch a tasks.json, run every task on this machine's GPUs, results in per-task folders",
    );
  const specs = addOptions(command, [
    ...HEADLESS_OPTIONS,
    ...INTAKE_OPTIONS,
    ...WORKER_OPTIONS.filter((option) => !SHARED_WITH_HEADLESS.has(option.flags)),
  ]);
  command.addHelpText(
    "after",
    "\nRedis: REDIS_URL if set, else a private redis-server with AOF in --data-dir (restarting resumes every queued task)." +
      "\nCtrl+C: the running tasks finish (up to --drain-timeout) or go back to the queue; engines and the private Redis stop; exit 0." +
      "\nA second Ctrl+C exits at once.",
  );
  command.action(async () => {
    // Listen for Ctrl+C from the start: a signal during start-up stops the farm once it is up.
    const stopRequested = untilStopSignal();
    const settings = settingsOf(HeadlessSettings, specs, command);
    const logger = createLogger({ name: "headless" });
    const mainOutputDir = path.resolve(settings.mainOutputDir);
    await mkdir(mainOutputDir, { recursive: true });
    const wangpRoot = wangpRootOf(settings.wangpRoot, settings.engine);
    const farm = await LocalFarm.start({
      redisUrl: settings.redisUrl,
      redisDataDir: path.resolve(settings.dataDir ?? path.join(mainOutputDir, ".wgp-farm-redis")),
      prefix: settings.prefix,
      worker: { ...workerOptionsOf({ ...settings, mainOutputDir }), wangpRoot },
      retry: retryPolicyOf(settings),
      mediaRoot: settings.mediaRoot,
      strict: settings.strict,
      tasksFile: settings.tasksFile,
      pollIntervalMs: settings.pollInterval * 1000,
      dashboard:
        settings.dashboardPort === undefined
          ? undefined
          : { port: settings.dashboardPort, credentials: undefined },
      logger,
    });
    logger.info(
      {
        tasks_file: farm.watcher?.tasksFile,
        main_output_dir: mainOutputDir,
        redis: farm.redis.url,
        slots: farm.worker.slotIds,
        dashboard: farm.dashboard?.url,
      },
      `headless: watching ${farm.watcher?.tasksFile} with ${farm.worker.slotIds.length} slot(s) (${farm.worker.slotIds.join(", ")}); ` +
        `results in ${mainOutputDir}; Redis ${farm.redis.private ? "(private) " : ""}${farm.redis.url}. Ctrl+C stops.`,
    );
    const signal = await stopRequested;
    logger.info(
      { signal },
      "stopping: running tasks finish or go back to the queue (Ctrl+C again to exit at once)",
    );
    await farm.stop(settings.drainTimeout * 1000);
    logger.info("stopped");
  });
}
