import { existsSync } from "node:fs";
import path from "node:path";
import { addOptions, option } from "@wgp-farm/config";
import { type PostprocessResult, postprocessTask } from "@wgp-farm/queue";
import { type PostStep, PostStepEntrySchema, SOUNDTRACK_METHODS } from "@wgp-farm/tasks";
import type { Command } from "commander";
import { z } from "zod";
import { CliError, ExitCode } from "../exit-codes.js";
import { FARM_COMMAND_OPTIONS, withFarm } from "../farm-command.js";
import { printJson } from "../output/format.js";

/** `--soundtrack mmaudio` names a WanGP soundtrack method; anything else is an audio file to put under the video. */
function soundtrackEntry(value: string): unknown {
  if ((SOUNDTRACK_METHODS as readonly string[]).includes(value)) return value;
  const file = path.resolve(value);
  if (!existsSync(file)) {
    throw new CliError(
      `--soundtrack: '${value}' is neither a soundtrack method (${SOUNDTRACK_METHODS.join(", ")}) nor an audio file`,
    );
  }
  return { method: "custom", audio: file };
}

const POSTPROCESS_OPTIONS = {
  upscale: option({
    flag: "--upscale",
    takes: "upsampler",
    description: "spatial upsampling, WanGP's value such as lanczos2 or flashvsr2",
    schema: z.string().min(1),
  }),
  interpolate: option({
    flag: "--interpolate",
    takes: "rife",
    description: "temporal upsampling: rife2 or rife4",
    schema: z.string().min(1),
  }),
  filmGrain: option({
    flag: "--film-grain",
    takes: "intensity",
    description: "film grain intensity, above 0 and at most 1",
    schema: z.coerce.number(),
  }),
  soundtrack: option({
    flag: "--soundtrack",
    takes: "method|file",
    description: `a generated soundtrack (${SOUNDTRACK_METHODS.join(", ")}) or an audio file to put under the video`,
    schema: z.string().min(1),
  }),
  ...FARM_COMMAND_OPTIONS,
};

/** The steps asked for, in the order they run (upscale, interpolate, film grain, soundtrack), checked like a task file's `then`. */
function stepsOf(settings: {
  upscale?: string | undefined;
  interpolate?: string | undefined;
  filmGrain?: number | undefined;
  soundtrack?: string | undefined;
}): PostStep[] {
  const entries: [string, Record<string, unknown>][] = [];
  if (settings.upscale !== undefined) entries.push(["--upscale", { upscale: settings.upscale }]);
  if (settings.interpolate !== undefined)
    entries.push(["--interpolate", { interpolate: settings.interpolate }]);
  if (settings.filmGrain !== undefined) entries.push(["--film-grain", { film_grain: settings.filmGrain }]);
  if (settings.soundtrack !== undefined)
    entries.push(["--soundtrack", { soundtrack: soundtrackEntry(settings.soundtrack) }]);
  if (entries.length === 0)
    throw new CliError("name at least one step: --upscale, --interpolate, --film-grain or --soundtrack");
  return entries.map(([flag, entry]) => {
    const parsed = PostStepEntrySchema.safeParse(entry);
    if (!parsed.success)
      throw new CliError(`${flag}: ${parsed.error.issues.map((issue) => issue.message).join("; ")}`);
    return parsed.data;
  });
}

function describe(result: PostprocessResult): string {
  if (result.outcome === "queued") return `queued       ${result.steps.join(" → ")}`;
  const errors = result.errors.map((error) => `\n  ${error.path}: ${error.message}`).join("");
  return `not queued   ${result.task_id}: ${result.message}${errors}`;
}

export function registerPostprocess(program: Command): void {
  const command = program
    .command("postprocess")
    .description(
      "add post-steps (upscale, interpolate, film grain, soundtrack) to a finished task, without generating it again; each step is a job of its own",
    )
    .argument("<task_id>", "a completed task (or stitch)");
  const readOptions = addOptions(command, POSTPROCESS_OPTIONS);
  command.addHelpText(
    "after",
    "\nSteps run in this order: upscale, interpolate, film grain, soundtrack; each on the output of the one before.\nExit codes: 0 queued, 1 unknown task or not post-processable, 2 usage or connection error.",
  );
  command.action(async (taskId: string) => {
    const settings = readOptions();
    const steps = stepsOf(settings);
    const result = await withFarm(settings, (farm) => postprocessTask(farm, taskId, steps));
    if (settings.json) printJson(result);
    else process.stdout.write(`${describe(result)}\n`);
    if (result.outcome === "not-found" && !settings.json)
      process.stderr.write(`wgp-farm: unknown task id: ${taskId}\n`);
    process.exitCode = result.outcome === "queued" ? ExitCode.ok : ExitCode.failed;
  });
}
