import { addOptions, createLogger } from "@wgp-farm/config";
import { FarmConnection, RedisTaskSink, readFarmWangpKnowledge, TaskFileWatcher } from "@wgp-farm/queue";
import type { Command } from "commander";
import {
  POLL_INTERVAL_OPTION,
  retryPolicyOf,
  TASK_INTAKE_OPTIONS,
  TASKS_FILE_OPTION,
} from "../intake-options.js";
import { untilStopSignal } from "../stop-signal.js";

const WATCH_OPTIONS = {
  tasksFile: TASKS_FILE_OPTION,
  pollIntervalMs: POLL_INTERVAL_OPTION,
  ...TASK_INTAKE_OPTIONS,
};

export function registerWatch(program: Command): void {
  const command = program
    .command("watch")
    .description(
      "import the tasks written to a tasks.json as they appear: claims the file by atomic rename, never rewrites it, rejects invalid tasks into <file>.rejected.jsonl",
    );
  const readOptions = addOptions(command, WATCH_OPTIONS);
  command.action(async () => {
    const stopRequested = untilStopSignal();
    const settings = readOptions();
    const logger = createLogger({ name: "watch" });
    const farm = await FarmConnection.open(settings.redisUrl, settings.prefix, { role: "service", logger });
    const watcher = new TaskFileWatcher({
      tasksFile: settings.tasksFile,
      sink: new RedisTaskSink(farm, retryPolicyOf(settings)),
      logger,
      pollIntervalMs: settings.pollIntervalMs,
      strict: settings.strict,
      ...(settings.mediaRoot ? { mediaRoot: settings.mediaRoot } : {}),
      wangp: () => readFarmWangpKnowledge(farm),
    });
    await watcher.start();
    logger.info({ tasks_file: watcher.tasksFile }, `watching ${watcher.tasksFile} (Ctrl+C stops)`);
    await stopRequested;
    await watcher.stop();
    await farm.close();
    logger.info("stopped");
  });
}
