import { addOptions, createLogger } from "@wgp-farm/config";
import { handleShutdownSignals, openWorkerConsole } from "@wgp-farm/worker";
import type { Command } from "commander";
import { REDIS_OPTIONS } from "../cli-options.js";
import { startWorkerOrExplain, WORKER_OPTIONS, workerOptionsOf } from "../worker-settings.js";

export function registerWorker(program: Command): void {
  const command = program
    .command("worker")
    .description(
      "run this GPU host's worker: one warm WanGP engine per GPU, fetching jobs from the model queues (the loaded model first)",
    );
  const readOptions = addOptions(command, { ...REDIS_OPTIONS, ...WORKER_OPTIONS });
  command.addHelpText(
    "after",
    "\nSIGTERM/SIGINT: no new jobs, running jobs finish (up to --drain-timeout) or go back to their queue, exit 0. A second signal exits at once.",
  );
  command.action(async () => {
    const settings = readOptions();
    const terminal = openWorkerConsole();
    const logger = createLogger({ name: "worker" });
    const worker = await startWorkerOrExplain({
      ...workerOptionsOf(settings),
      redisUrl: settings.redisUrl,
      prefix: settings.prefix,
      logger,
    });
    terminal.show(() => worker.statuses());
    handleShutdownSignals(worker, { drainTimeoutMs: settings.drainTimeoutMs, logger });
    await worker.closed;
    terminal.close();
  });
}
