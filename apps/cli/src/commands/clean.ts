import { addOptions, choiceOption, option, switchOption } from "@wgp-farm/config";
import { CLEANABLE_STATES, cleanTasks, parseDuration } from "@wgp-farm/queue";
import { BucketResults, S3_ACCESS_OPTION_SET } from "@wgp-farm/storage";
import type { Command } from "commander";
import { z } from "zod";
import { FARM_COMMAND_OPTIONS, withFarm } from "../farm-command.js";
import { plural, printJson } from "../output/format.js";

const CLEAN_OPTIONS = {
  state: choiceOption({
    flag: "--state",
    takes: "state",
    description: "which tasks",
    choices: CLEANABLE_STATES,
    default: "completed",
  }),
  olderThanMs: option({
    flag: "--older-than",
    takes: "duration",
    description: "only tasks finished longer ago than this (7d, 12h, 30m; 0s for every one)",
    schema: z.string().transform((text, context) => {
      const ms = parseDuration(text);
      if (ms === null) {
        context.addIssue({
          code: "custom",
          message: `'${text}' is not a duration such as 7d, 12h, 30m or 1d12h`,
        });
        return z.NEVER;
      }
      return ms;
    }),
    required: true,
  }),
  model: option({
    flag: "--model",
    takes: "model",
    description: "only this model type's tasks",
    schema: z.string().min(1),
  }),
  dryRun: switchOption({ flag: "--dry-run", description: "list what would be removed; remove nothing" }),
  results: switchOption({
    flag: "--results",
    description:
      "also remove their results kept in a bucket (--output-store), unless a task the farm still has owns the folder",
  }),
  ...FARM_COMMAND_OPTIONS,
  ...S3_ACCESS_OPTION_SET,
};

export function registerClean(program: Command): void {
  const command = program
    .command("clean")
    .description(
      "remove finished tasks' jobs older than a duration (their output folders stay), keeping the task index consistent",
    );
  const readOptions = addOptions(command, CLEAN_OPTIONS);
  command.addHelpText("after", "\nExit codes: 0 done, 1 unknown model, 2 usage or connection error.");
  command.action(async () => {
    const settings = readOptions();
    const results = settings.results ? new BucketResults(settings) : undefined;
    const report = await withFarm(settings, (farm) =>
      cleanTasks(farm, {
        state: settings.state,
        olderThanMs: settings.olderThanMs,
        model: settings.model,
        dryRun: settings.dryRun,
        results,
      }),
    ).finally(() => results?.close());
    if (settings.json) {
      printJson(report);
      return;
    }
    const verb = report.dry_run ? "Would remove" : "Removed";
    const ids = report.removed.map((task) => task.task_id);
    const shown = ids.length > 20 ? `${ids.slice(0, 20).join(", ")}, …` : ids.join(", ");
    process.stdout.write(
      `${verb} ${plural(ids.length, `${report.state} task`)}${ids.length > 0 ? `: ${shown}` : ""}\n`,
    );
    if (report.results) {
      const { removed, kept, failed } = report.results;
      process.stdout.write(`${verb} ${plural(removed.length, "stored result")}\n`);
      for (const { output_dir, task_id } of kept)
        process.stdout.write(`Kept ${output_dir}: task ${task_id} owns it\n`);
      for (const { output_dir, error } of failed)
        process.stdout.write(`Could not remove ${output_dir}: ${error}\n`);
      if (failed.length > 0) process.exitCode = 1;
    }
  });
}
