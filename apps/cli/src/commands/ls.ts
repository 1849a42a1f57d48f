import { addOptions, option } from "@wgp-farm/config";
import { listTasks, resolveModels, searchTasks, TASK_STATE_FILTERS } from "@wgp-farm/queue";
import type { Command } from "commander";
import { z } from "zod";
import { FARM_COMMAND_OPTIONS, withFarm } from "../farm-command.js";
import { printJson } from "../output/format.js";
import { formatTaskList } from "../output/task-list.js";
import { pointInTimeSchema, wantsSearch } from "./ls-search.js";

const LS_OPTIONS = {
  state: option({
    flag: "--state",
    takes: "state",
    description:
      "only tasks in this state (waiting includes prioritized tasks and tasks waiting for those they depend on)",
    choices: TASK_STATE_FILTERS,
    schema: z.enum(TASK_STATE_FILTERS),
  }),
  model: option({
    flag: "--model",
    takes: "model",
    description: "only tasks of this model type",
    schema: z.string().min(1),
  }),
  search: option({
    flag: "--search",
    takes: "words",
    description:
      "only tasks whose id starts with, or whose prompt has words starting with, every one of these words",
    schema: z.string(),
  }),
  since: option({
    flag: "--since",
    takes: "when",
    description: "only tasks imported at or after this time (ISO time, or a duration ago: 2h, 1d)",
    schema: pointInTimeSchema,
  }),
  until: option({
    flag: "--until",
    takes: "when",
    description: "only tasks imported before this time (ISO time, or a duration ago)",
    schema: pointInTimeSchema,
  }),
  limit: option({
    flag: "--limit",
    takes: "n",
    description: "at most this many tasks",
    schema: z.coerce.number().int().min(1).max(1_000_000),
    default: 50,
  }),
  ...FARM_COMMAND_OPTIONS,
};

export function registerLs(program: Command): void {
  const command = program.command("ls").description("list tasks, most recent first");
  const readOptions = addOptions(command, LS_OPTIONS);
  command.addHelpText(
    "after",
    "\nExit codes: 0 listed (maybe none), 1 unknown model, 2 usage or connection error.",
  );
  command.action(async () => {
    const settings = readOptions();
    await withFarm(settings, async (farm) => {
      if (settings.model) await resolveModels(farm, [settings.model]);
      const tasks = wantsSearch(settings)
        ? await searchTasks(farm, {
            ...settings,
            text: settings.search,
            from: settings.since,
            to: settings.until,
          })
        : await listTasks(farm, settings);
      if (settings.json) printJson(tasks);
      else process.stdout.write(`${formatTaskList(tasks)}\n`);
    });
  });
}
