import { addOptions, option } from "@wgp-farm/config";
import { type CancelTaskResult, cancelTask } from "@wgp-farm/queue";
import type { Command } from "commander";
import { z } from "zod";
import { ExitCode } from "../exit-codes.js";
import { FARM_COMMAND_OPTIONS, withFarm } from "../farm-command.js";
import { printJson } from "../output/format.js";

const CANCEL_OPTIONS = {
  reason: option({
    flag: "--reason",
    takes: "text",
    description: "why, kept with the task",
    schema: z.string().min(1),
  }),
  ...FARM_COMMAND_OPTIONS,
};

/** "; with it: seg_03, travel" for the jobs of a flow that depended on it. */
function dependantsText(result: CancelTaskResult): string {
  return result.dependants?.length ? `; with it: ${result.dependants.join(", ")}` : "";
}

function describe(result: CancelTaskResult): string {
  return `${outcomeText(result)}${dependantsText(result)}`;
}

function outcomeText(result: CancelTaskResult): string {
  switch (result.outcome) {
    case "removed":
      return `cancelled    ${result.task_id} (was ${result.state}; removed from its queue)`;
    case "cancelling":
      return `cancelling   ${result.task_id} (running: its slot stops the engine at the next step)`;
    case "already-finished":
      return `not changed  ${result.task_id}: already ${result.state}`;
    case "not-found":
      return `not found    ${result.task_id}: the farm has no task with this id`;
  }
}

export function registerCancel(program: Command): void {
  const command = program
    .command("cancel")
    .description(
      "cancel tasks wherever they are: waiting ones are removed (a cancel record stays), running ones are stopped on their GPU and end cancelled, without retry",
    )
    .argument("<task_id...>", "the tasks to cancel");
  const readOptions = addOptions(command, CANCEL_OPTIONS);
  command.addHelpText(
    "after",
    "\nExit codes: 0 every task cancelled, being cancelled or already finished, 1 some task id unknown, 2 usage or connection error.",
  );
  command.action(async (taskIds: string[]) => {
    const settings = readOptions();
    const results = await withFarm(settings, async (farm) => {
      const done: CancelTaskResult[] = [];
      for (const taskId of taskIds) done.push(await cancelTask(farm, taskId, settings.reason));
      return done;
    });
    if (settings.json) printJson(results);
    else process.stdout.write(`${results.map(describe).join("\n")}\n`);
    const unknown = results.filter((result) => result.outcome === "not-found");
    if (unknown.length > 0 && !settings.json) {
      process.stderr.write(
        `wgp-farm: unknown task id: ${unknown.map((result) => result.task_id).join(", ")}\n`,
      );
    }
    process.exitCode = unknown.length > 0 ? ExitCode.failed : ExitCode.ok;
  });
}
