import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { addOptions, createLogger, option } from "@wgp-farm/config";
import { openWorkerConsole } from "@wgp-farm/worker";
import type { Command } from "commander";
import { z } from "zod";
import { MAIN_OUTPUT_DIR } from "../cli-options.js";
import { CliError } from "../exit-codes.js";
import {
  POLL_INTERVAL_OPTION,
  retryPolicyOf,
  TASK_INTAKE_OPTIONS,
  TASKS_FILE_OPTION,
} from "../intake-options.js";
import { LocalFarm } from "../local-farm/local-farm.js";
import { untilStopSignal } from "../stop-signal.js";
import { WORKER_OPTIONS, workerOptionsOf } from "../worker-settings.js";

/** The old headless.py's default output folder. */
export const DEFAULT_HEADLESS_OUTPUT_DIR = "./headless_outputs";

/** The private Redis's folder inside the output folder, when neither --data-dir nor REDIS_URL is given. */
const PRIVATE_REDIS_DIR = ".wgp-farm-redis";

const HEADLESS_OPTIONS = {
  tasksFile: TASKS_FILE_OPTION,
  pollIntervalMs: POLL_INTERVAL_OPTION,
  dataDir: option({
    flag: "--data-dir",
    takes: "dir",
    env: "WGP_FARM_DATA_DIR",
    description: "the private Redis's folder (AOF), when REDIS_URL is not set",
    schema: z.string().min(1),
    defaultText: `<main-output-dir>/${PRIVATE_REDIS_DIR}`,
  }),
  dashboardPort: option({
    flag: "--dashboard-port",
    takes: "port",
    env: "WGP_FARM_DASHBOARD_PORT",
    description: "also serve the dashboard on 127.0.0.1:<port> (credentials from WGP_FARM_DASHBOARD_*)",
    schema: z.coerce.number().int().min(0).max(65535),
    defaultText: "no dashboard",
  }),
  ...TASK_INTAKE_OPTIONS,
  ...WORKER_OPTIONS,
  // Where the old script put results, and a private Redis rather than one on the default port.
  mainOutputDir: {
    ...MAIN_OUTPUT_DIR,
    description: "where each task's results go, in <output_sub_dir or task_id>/",
    required: false,
    default: DEFAULT_HEADLESS_OUTPUT_DIR,
  },
  redisUrl: {
    ...TASK_INTAKE_OPTIONS.redisUrl,
    default: undefined,
    defaultText: "a private redis-server with AOF in --data-dir",
  },
};

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
  const readOptions = addOptions(command, HEADLESS_OPTIONS);
  command.addHelpText(
    "after",
    "\nRedis: REDIS_URL if set, else a private redis-server with AOF in --data-dir (restarting resumes every queued task)." +
      "\nCtrl+C: the running tasks finish (up to --drain-timeout) or go back to the queue; engines and the private Redis stop; exit 0." +
      "\nA second Ctrl+C exits at once.",
  );
  command.action(async () => {
    // Listen for Ctrl+C from the start: a signal during start-up stops the farm once it is up.
    const stopRequested = untilStopSignal();
    const settings = readOptions();
    const terminal = openWorkerConsole();
    const logger = createLogger({ name: "headless" });
    const mainOutputDir = path.resolve(settings.mainOutputDir);
    await mkdir(mainOutputDir, { recursive: true });
    const wangpRoot = wangpRootOf(settings.wangpRoot, settings.engine);
    const farm = await LocalFarm.start({
      redisUrl: settings.redisUrl,
      redisDataDir: path.resolve(settings.dataDir ?? path.join(mainOutputDir, PRIVATE_REDIS_DIR)),
      prefix: settings.prefix,
      worker: { ...workerOptionsOf({ ...settings, mainOutputDir }), wangpRoot },
      retry: retryPolicyOf(settings),
      mediaRoot: settings.mediaRoot,
      strict: settings.strict,
      tasksFile: settings.tasksFile,
      pollIntervalMs: settings.pollIntervalMs,
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
    terminal.show(() => farm.worker.statuses());
    const signal = await stopRequested;
    logger.info(
      { signal },
      "stopping: running tasks finish or go back to the queue (Ctrl+C again to exit at once)",
    );
    await farm.stop(settings.drainTimeoutMs);
    terminal.close();
    logger.info("stopped");
  });
}
