import { addOptions, listOption, switchOption, valuesOf } from "@wgp-farm/config";
import { defaultEnginePyDir, defaultPython } from "@wgp-farm/engine";
import { SlotRegistry } from "@wgp-farm/queue";
import { OUTPUT_STORE_OPTION, S3_ACCESS_OPTION_SET } from "@wgp-farm/storage";
import { WORKER_OPTION_SET, workerHostName } from "@wgp-farm/worker";
import type { Command } from "commander";
import { MAIN_OUTPUT_DIR, PYTHON, REDIS_OPTIONS, WANGP_ROOT } from "../cli-options.js";
import { runDoctor } from "../doctor/run-doctor.js";
import { ExitCode } from "../exit-codes.js";
import { formatDoctorReport } from "../output/doctor-report.js";
import { printJson } from "../output/format.js";

/** The worker's own options, so that doctor checks what the worker would use. */
const DOCTOR_OPTIONS = {
  ...REDIS_OPTIONS,
  wangpRoot: WANGP_ROOT,
  mainOutputDir: { ...MAIN_OUTPUT_DIR, required: false },
  python: PYTHON,
  engine: WORKER_OPTION_SET.engine,
  gpus: WORKER_OPTION_SET.gpus,
  name: WORKER_OPTION_SET.name,
  outputStore: OUTPUT_STORE_OPTION,
  ...S3_ACCESS_OPTION_SET,
  forgetHost: listOption({
    flag: "--forget-host",
    takes: "name...",
    description: "remove hosts that left the farm from the comparison",
  }),
  json: switchOption({ flag: "--json", description: "print the report as one JSON object" }),
};

export function registerDoctor(program: Command): void {
  const command = program
    .command("doctor")
    .description(
      "check this host for farm work: Redis, the WanGP checkout and its Python, GPUs and RAM, ffmpeg, the LoRA and output folders (shared with the other hosts?), or with --output-store the bucket (reachable, writable)",
    );
  const readOptions = addOptions(command, DOCTOR_OPTIONS);
  command.addHelpText(
    "after",
    "\nExit codes: 0 nothing blocks work (warnings allowed), 1 some check failed, 2 usage error.",
  );
  command.action(async () => {
    const settings = readOptions();
    const report = await runDoctor({
      host: workerHostName(settings.name),
      engine: settings.engine,
      redisUrl: settings.redisUrl,
      prefix: settings.prefix,
      ...(settings.wangpRoot ? { wangpRoot: settings.wangpRoot } : {}),
      ...(settings.mainOutputDir ? { mainOutputDir: settings.mainOutputDir } : {}),
      outputStore: settings.outputStore,
      store: valuesOf(S3_ACCESS_OPTION_SET, settings),
      python: settings.python ?? defaultPython(),
      enginePyDir: defaultEnginePyDir(),
      gpus: settings.gpus,
      forgetHosts: settings.forgetHost,
      listWorkerHosts: async (farm) => [
        ...new Set((await new SlotRegistry(farm.redis, farm.keys).list()).map((slot) => slot.host)),
      ],
    });
    if (settings.json) printJson(report);
    else process.stdout.write(`${formatDoctorReport(report)}\n`);
    process.exitCode = report.ok ? ExitCode.ok : ExitCode.failed;
  });
}
