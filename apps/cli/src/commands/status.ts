import { setTimeout as sleep } from "node:timers/promises";
import { addOptions, type OptionValues, option, SECONDS, switchOption } from "@wgp-farm/config";
import { type FarmConnection, findTask, readFarmStatus, slotBusyRatio } from "@wgp-farm/queue";
import type { Command } from "commander";
import { z } from "zod";
import { CliError, ExitCode } from "../exit-codes.js";
import { FARM_COMMAND_OPTIONS, withFarm } from "../farm-command.js";
import { formatFarmStatus } from "../output/farm-status.js";
import { formatFlowTree } from "../output/flow-tree.js";
import { jsonText } from "../output/format.js";
import { formatResultLinks, RESULT_LINK_OPTIONS, resultLinksOf } from "../output/result-links.js";
import { formatTaskDetails } from "../output/task-details.js";
import { untilStopSignal } from "../stop-signal.js";

const STATUS_OPTIONS = {
  ...FARM_COMMAND_OPTIONS,
  logs: option({
    flag: "--logs",
    takes: "n",
    description: "log lines to show for a task",
    schema: z.coerce.number().int().min(0).max(10_000),
    default: 10,
  }),
  watch: switchOption({
    flag: "--watch",
    description:
      "keep showing it, refreshed in place on a terminal (a new snapshot each time otherwise), until Ctrl+C",
  }),
  every: option({
    flag: "--every",
    unit: SECONDS,
    description: "how often --watch refreshes",
    schema: z.coerce.number().min(0.1).max(3600),
    default: 2_000,
  }),
  ...RESULT_LINK_OPTIONS,
};
type StatusSettings = OptionValues<typeof STATUS_OPTIONS>;

/** What `status` shows once: the farm, or one task (undefined: the farm never saw it). */
async function snapshot(
  farm: FarmConnection,
  taskId: string | undefined,
  settings: StatusSettings,
): Promise<string | undefined> {
  if (taskId === undefined) {
    const now = Date.now();
    const status = await readFarmStatus(farm, now);
    if (!settings.json) return formatFarmStatus(status);
    return jsonText({
      ...status,
      slots: status.slots.map((slot) => ({ ...slot, busy_ratio: slotBusyRatio(slot, now) })),
    });
  }
  const task = await findTask(farm, taskId, { logLines: settings.logs });
  if (!task) return undefined;
  const links = await resultLinksOf(task.result, settings);
  if (settings.json) return jsonText(links.length > 0 ? { ...task, links } : task);
  const details = formatTaskDetails(task) + formatResultLinks(links, settings.s3LinkTtlMs);
  return task.flow ? `${details}\n\n${formatFlowTree(task.flow, task.task_id)}` : details;
}

/** Home, clear to the end: the next view replaces the last one instead of scrolling. */
const REDRAW = "\x1b[H\x1b[J";

async function watch(farm: FarmConnection, taskId: string | undefined, settings: StatusSettings) {
  const stop = untilStopSignal();
  let stopped = false;
  void stop.then(() => {
    stopped = true;
  });
  const terminal = process.stdout.isTTY === true;
  while (!stopped) {
    const view = (await snapshot(farm, taskId, settings)) ?? `waiting for task '${taskId}' to appear…`;
    const stamp = `${new Date().toLocaleTimeString()} — every ${settings.every / 1000} s, Ctrl+C stops`;
    process.stdout.write(
      terminal ? `${REDRAW}${stamp}\n\n${view}\n` : `--- ${new Date().toISOString()}\n${view}\n`,
    );
    await Promise.race([sleep(settings.every), stop]);
  }
}

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
      if (settings.watch) return watch(farm, taskId, settings);
      const view = await snapshot(farm, taskId, settings);
      if (view === undefined)
        throw new CliError(
          `unknown task '${taskId}': no queue, quarantine or cancel record has it`,
          ExitCode.failed,
        );
      process.stdout.write(`${view}\n`);
    });
  });
}
