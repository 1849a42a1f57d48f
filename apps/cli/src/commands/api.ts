import { API_OPTION_SET, startApi } from "@wgp-farm/api";
import { addOptions, createLogger } from "@wgp-farm/config";
import type { Command } from "commander";
import { REDIS_OPTIONS } from "../cli-options.js";
import { untilStopSignal } from "../stop-signal.js";

export function registerApi(program: Command): void {
  const command = program
    .command("api")
    .description(
      "serve the HTTP API (submit tasks, upload inputs, read, cancel and retry tasks, download outputs) behind API tokens",
    );
  const readOptions = addOptions(command, { ...API_OPTION_SET, ...REDIS_OPTIONS });
  command.addHelpText(
    "after",
    "\nEvery route but /healthz needs a token: make one with `wgp-farm token create`.\n\nExit codes: 0 stopped by a signal, 2 usage, configuration or connection error.",
  );
  command.action(async () => {
    const settings = readOptions();
    const logger = createLogger({ name: "api" });
    const api = await startApi({ ...settings, logger });
    process.stdout.write(`API: ${api.url}/v1 (Ctrl+C stops)\n`);
    await untilStopSignal();
    await api.close();
    logger.info("stopped");
  });
}
