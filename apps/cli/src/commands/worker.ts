import { createLogger } from "@wgp-farm/config";
import { handleShutdownSignals } from "@wgp-farm/worker";
import type { Command } from "commander";
import { addOptions, REDIS_OPTIONS, settingsOf } from "../cli-options.js";
import { startWorkerOrExplain, WORKER_OPTIONS, WorkerSettings, workerOptionsOf } from "../worker-settings.js";

export function registerWorker(program: Command): void {
  const command = program
    .command("worker")
    .description(
      "run this GPU host's worker: one warm WanGP engine per GPU, fetching jobs from the model queues (the loaded model first)",
    );
  const specs = addOptions(command, [...REDIS_OPTIONS, ...WORKER_OPTIONS]);
  command.addHelpText(
    "after",
    "\nSIGTERM/SIGINT: no new jobs, running jobs finish (up to --drain-timeout) or go back to their queue, exit 0. A second signal exits at once.",
  );
  command.action(async () => {
    const settings = settingsOf(WorkerSettings, specs, command);
    const logger = createLogger({ name: "worker" });
    const worker = await startWorkerOrExplain({
      ...workerOptionsOf(settings),
      redisUrl: settings.redisUrl,
      prefix: settings.prefix,
      logger,
    });
    handleShutdownSignals(worker, { drainTimeoutMs: settings.drainTimeout * 1000, logger });
    await worker.closed;
  });
}
