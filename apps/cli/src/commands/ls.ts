import { listTasks, resolveModels, TASK_STATE_FILTERS } from "@wgp-farm/queue";
import type { Command } from "commander";
import { z } from "zod";
import { addOptions, settingsOf } from "../cli-options.js";
import { FARM_COMMAND_OPTIONS, FarmCommandSettings, withFarm } from "../farm-command.js";
import { printJson } from "../output/format.js";
import { formatTaskList } from "../output/task-list.js";

const LsSettings = FarmCommandSettings.extend({
  state: z.enum(TASK_STATE_FILTERS).optional(),
  model: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1_000_000).default(50),
});

export function registerLs(program: Command): void {
  const command = program.command("ls").description("list tasks, most recent first");
  const specs = addOptions(command, [
    {
      flags: "--state <state>",
      description: "only tasks in this state (waiting includes prioritized tasks)",
      choices: TASK_STATE_FILTERS,
    },
    { flags: "--model <model>", description: "only tasks of this model type" },
    { flags: "--limit <n>", description: "at most this many tasks", defaultText: "50" },
    ...FARM_COMMAND_OPTIONS,
  ]);
  command.addHelpText(
    "after",
    "\nExit codes: 0 listed (maybe none), 1 unknown model, 2 usage or connection error.",
  );
  command.action(async () => {
    const settings = settingsOf(LsSettings, specs, command);
    await withFarm(settings, async (farm) => {
      if (settings.model) await resolveModels(farm, [settings.model]);
      const tasks = await listTasks(farm, settings);
      if (settings.json) printJson(tasks);
      else process.stdout.write(`${formatTaskList(tasks)}\n`);
    });
  });
}
