import { addOptions, listOption, switchOption } from "@wgp-farm/config";
import { type RetryResult, retryAllFailed, retryTask } from "@wgp-farm/queue";
import type { Command } from "commander";
import { CliError, ExitCode } from "../exit-codes.js";
import { FARM_COMMAND_OPTIONS, withFarm } from "../farm-command.js";
import { printJson } from "../output/format.js";

const RETRY_OPTIONS = {
  allFailed: switchOption({
    flag: "--all-failed",
    description: "retry every failed task (quarantined tasks only by name)",
  }),
  model: listOption({
    flag: "--model",
    takes: "model...",
    description: "with --all-failed: only these model types",
  }),
  ...FARM_COMMAND_OPTIONS,
};

function formatRetry(result: RetryResult): string {
  if (result.outcome === "retried") {
    const resumed = result.resumed?.length ? `; resumes ${result.resumed.join(", ")}` : "";
    return `retried      ${result.task_id} (was ${result.state}) → ${result.queue}${resumed}`;
  }
  return `not retried  ${result.task_id}: ${result.message}`;
}

export function registerRetry(program: Command): void {
  const command = program
    .command("retry")
    .description("run failed, quarantined or cancelled tasks again, with a fresh count of attempts")
    .argument("[task_id...]", "the tasks to retry");
  const readOptions = addOptions(command, RETRY_OPTIONS);
  command.addHelpText(
    "after",
    "\nExit codes: 0 every named task retried, 1 some task unknown or not retriable, 2 usage or connection error.",
  );
  command.action(async (taskIds: string[]) => {
    const settings = readOptions();
    if (settings.allFailed === taskIds.length > 0) {
      throw new CliError("name the tasks to retry, or give --all-failed (not both)");
    }
    const results = await withFarm(settings, async (farm) => {
      if (settings.allFailed) return retryAllFailed(farm, settings.model);
      const done: RetryResult[] = [];
      for (const taskId of taskIds) done.push(await retryTask(farm, taskId));
      return done;
    });
    if (settings.json) printJson(results);
    else if (results.length === 0) process.stdout.write("No failed tasks.\n");
    else process.stdout.write(`${results.map(formatRetry).join("\n")}\n`);
    process.exitCode = results.every((result) => result.outcome === "retried")
      ? ExitCode.ok
      : ExitCode.failed;
  });
}
