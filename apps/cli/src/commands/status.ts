import { addOptions, option } from "@wgp-farm/config";
import { findTask, readFarmStatus, slotBusyRatio } from "@wgp-farm/queue";
import type { Command } from "commander";
import { z } from "zod";
import { CliError, ExitCode } from "../exit-codes.js";
import { FARM_COMMAND_OPTIONS, withFarm } from "../farm-command.js";
import { formatFarmStatus } from "../output/farm-status.js";
import { printJson } from "../output/format.js";
import { formatTaskDetails } from "../output/task-details.js";

const STATUS_OPTIONS = {
  ...FARM_COMMAND_OPTIONS,
  logs: option({
    flag: "--logs",
    takes: "n",
    description: "log lines to show for a task",
    schema: z.coerce.number().int().min(0).max(10_000),
    default: 10,
  }),
};

export function registerStatus(program: Command): void {
  const command = program
    .command("status")
    .description(
      "the farm (GPU slots, loaded models, running tasks with progress, queue depths), or one task",
    )
    .argument("[task_id]", "show this task: state, queue, attempts, progress, output folder, errors, log");
  const readOptions = addOptions(command, STATUS_OPTIONS);
  command.addHelpText("after", "\nExit codes: 0 shown, 1 unknown task id, 2 usage or connection error.");
  command.action(async (taskId: string | undefined) => {
    const settings = readOptions();
    await withFarm(settings, async (farm) => {
      if (taskId === undefined) {
        const now = Date.now();
        const status = await readFarmStatus(farm, now);
        if (settings.json) {
          printJson({
            ...status,
            slots: status.slots.map((slot) => ({ ...slot, busy_ratio: slotBusyRatio(slot, now) })),
          });
        } else {
          process.stdout.write(`${formatFarmStatus(status)}\n`);
        }
        return;
      }
      const task = await findTask(farm, taskId, { logLines: settings.logs });
      if (!task)
        throw new CliError(
          `unknown task '${taskId}': no queue, quarantine or cancel record has it`,
          ExitCode.failed,
        );
      if (settings.json) printJson(task);
      else process.stdout.write(`${formatTaskDetails(task)}\n`);
    });
  });
}
