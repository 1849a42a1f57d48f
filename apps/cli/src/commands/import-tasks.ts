import path from "node:path";
import { addOptions, type OptionValues, switchOption } from "@wgp-farm/config";
import {
  DryRunTaskSink,
  FarmConnection,
  farmWangpKnowledge,
  HostCatalogs,
  type ImportReport,
  importTaskSource,
  openTaskSource,
  RedisTaskSink,
} from "@wgp-farm/queue";
import type { Command } from "commander";
import { ExitCode } from "../exit-codes.js";
import {
  MEDIA_URL_OPTIONS,
  mediaUrlImportOptions,
  retryPolicyOf,
  TASK_INTAKE_OPTIONS,
} from "../intake-options.js";
import { printJson } from "../output/format.js";
import { formatImportReport } from "../output/import-report.js";
import { ProgressBar } from "../output/progress-bar.js";

const IMPORT_OPTIONS = {
  ...TASK_INTAKE_OPTIONS,
  rerun: switchOption({
    flag: "--rerun",
    description: "queue finished (completed, failed, cancelled) tasks again instead of skipping them",
  }),
  dryRun: switchOption({ flag: "--dry-run", description: "validate and report only; Redis is not touched" }),
  json: switchOption({ flag: "--json", description: "print the report as one JSON object" }),
  ...MEDIA_URL_OPTIONS,
};
export type ImportSettings = OptionValues<typeof IMPORT_OPTIONS>;

/** Imports a task list into Redis (or only validates it with --dry-run) and returns the report. */
export async function importTaskFile(file: string, settings: ImportSettings): Promise<ImportReport> {
  const source = await openTaskSource(file);
  const farm = settings.dryRun ? undefined : await FarmConnection.open(settings.redisUrl, settings.prefix);
  const progress = new ProgressBar(`importing ${file === "-" ? "stdin" : path.basename(file)}`, source.size);
  let bytes = 0;
  let tasks = 0;
  try {
    const sink = farm ? new RedisTaskSink(farm, retryPolicyOf(settings)) : new DryRunTaskSink();
    // Models and settings are checked against what the live hosts' WanGP knows (built-in catalog when none).
    const hosts = farm ? await new HostCatalogs(farm.redis, farm.keys).list() : [];
    const report = await importTaskSource(sink, source, {
      wangp: farmWangpKnowledge(hosts),
      ...(settings.mediaRoot ? { mediaRoot: settings.mediaRoot } : {}),
      strict: settings.strict,
      rerun: settings.rerun,
      ...mediaUrlImportOptions(settings),
      onBytes: (total) => {
        bytes = total;
        progress.update(bytes, `${tasks.toLocaleString("en-US")} tasks`);
      },
      onProgress: ({ tasksRead }) => {
        tasks = tasksRead;
        progress.update(bytes, `${tasks.toLocaleString("en-US")} tasks`);
      },
    });
    progress.finish(bytes, `${tasks.toLocaleString("en-US")} tasks`);
    return report;
  } finally {
    await farm?.close();
  }
}

export function registerImportTasks(program: Command): void {
  const command = program
    .command("import-tasks")
    .description(
      "validate a task list (JSON array or JSON Lines, '-' for stdin) and queue each valid task as a BullMQ job in model.<model>",
    )
    .argument("<file>", "tasks file, or - to read stdin");
  const readOptions = addOptions(command, IMPORT_OPTIONS);
  command.addHelpText(
    "after",
    "\nExit codes: 0 every task imported or skipped, 1 some task invalid, 2 usage or connection error.",
  );
  command.action(async (file: string) => {
    const settings = readOptions();
    const report = await importTaskFile(file, settings);
    if (settings.json) printJson(report);
    else process.stdout.write(`${formatImportReport(report, { dryRun: settings.dryRun, source: file })}\n`);
    const failed = report.invalid.length > 0 || report.file_errors.length > 0;
    process.exitCode = failed ? ExitCode.failed : ExitCode.ok;
  });
}
