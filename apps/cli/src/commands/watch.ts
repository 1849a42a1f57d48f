import { createLogger } from "@wgp-farm/config";
import { FarmConnection, RedisTaskSink, TaskFileWatcher } from "@wgp-farm/queue";
import type { Command } from "commander";
import { z } from "zod";
import { addOptions, settingsOf } from "../cli-options.js";
import { retryPolicyOf, TASK_INTAKE_OPTIONS, TaskIntakeSettings } from "../intake-options.js";
import { untilStopSignal } from "../stop-signal.js";

export const DEFAULT_POLL_INTERVAL_S = 10;

const WatchSettings = TaskIntakeSettings.extend({
  tasksFile: z.string({ error: "is required" }).min(1),
  pollInterval: z.coerce.number().positive().default(DEFAULT_POLL_INTERVAL_S),
});

export function registerWatch(program: Command): void {
  const command = program
    .command("watch")
    .description(
      "import the tasks written to a tasks.json as they appear: claims the file by atomic rename, never rewrites it, rejects invalid tasks into <file>.rejected.jsonl",
    );
  const specs = addOptions(command, [
    {
      flags: "--tasks-file <file>",
      description: "the tasks file to watch (required)",
      env: "WGP_FARM_TASKS_FILE",
    },
    {
      flags: "--poll-interval <s>",
      description: "seconds between checks when no file-system event arrives",
      env: "WGP_FARM_POLL_INTERVAL",
      defaultText: String(DEFAULT_POLL_INTERVAL_S),
    },
    ...TASK_INTAKE_OPTIONS,
  ]);
  command.action(async () => {
    const stopRequested = untilStopSignal();
    const settings = settingsOf(WatchSettings, specs, command);
    const logger = createLogger({ name: "watch" });
    const farm = await FarmConnection.open(settings.redisUrl, settings.prefix, { role: "service" });
    const watcher = new TaskFileWatcher({
      tasksFile: settings.tasksFile,
      sink: new RedisTaskSink(farm, retryPolicyOf(settings)),
      logger,
      pollIntervalMs: settings.pollInterval * 1000,
      strict: settings.strict,
      ...(settings.mediaRoot ? { mediaRoot: settings.mediaRoot } : {}),
    });
    await watcher.start();
    logger.info({ tasks_file: watcher.tasksFile }, `watching ${watcher.tasksFile} (Ctrl+C stops)`);
    await stopRequested;
    await watcher.stop();
    await farm.close();
    logger.info("stopped");
  });
}
