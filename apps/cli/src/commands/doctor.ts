import os from "node:os";
import { defaultEnginePyDir, defaultPython } from "@wgp-farm/engine";
import { DEFAULT_PREFIX, DEFAULT_REDIS_URL, SlotRegistry } from "@wgp-farm/queue";
import { workerHostName } from "@wgp-farm/worker";
import type { Command } from "commander";
import { z } from "zod";
import { addOptions, REDIS_OPTIONS, settingsOf } from "../cli-options.js";
import { runDoctor } from "../doctor/run-doctor.js";
import { ExitCode } from "../exit-codes.js";
import { formatDoctorReport } from "../output/doctor-report.js";
import { printJson } from "../output/format.js";
import { GpuListSetting } from "../worker-settings.js";

const DoctorSettings = z.object({
  redisUrl: z.string().default(DEFAULT_REDIS_URL),
  prefix: z.string().min(1).default(DEFAULT_PREFIX),
  wangpRoot: z.string().optional(),
  mainOutputDir: z.string().optional(),
  python: z.string().default(defaultPython()),
  engine: z.enum(["wangp", "dry-run"]).default("wangp"),
  gpus: GpuListSetting.default("auto"),
  name: z.string().min(1).default(os.hostname()),
  forgetHost: z.array(z.string()).default([]),
  json: z.boolean().default(false),
});

export function registerDoctor(program: Command): void {
  const command = program
    .command("doctor")
    .description(
      "check this host for farm work: Redis, the WanGP checkout and its Python, GPUs and RAM, ffmpeg, the LoRA and output folders (shared with the other hosts?)",
    );
  const specs = addOptions(command, [
    ...REDIS_OPTIONS,
    { flags: "--wangp-root <dir>", description: "the WanGP checkout", env: "WGP_FARM_WANGP_ROOT" },
    {
      flags: "--main-output-dir <dir>",
      description: "the folder task outputs go to (shared storage on a farm)",
      env: "WGP_FARM_MAIN_OUTPUT_DIR",
    },
    {
      flags: "--python <path>",
      description: "the Python that runs WanGP (its virtualenv's)",
      env: "WGP_FARM_PYTHON",
      defaultText: "python3",
    },
    {
      flags: "--engine <engine>",
      description: "what the worker runs: without GPUs, wangp fails and dry-run only warns",
      env: "WGP_FARM_ENGINE",
      defaultText: "wangp",
      choices: ["wangp", "dry-run"],
    },
    {
      flags: "--gpus <list>",
      description: "GPUs the worker uses: auto or 0,1,…",
      env: "WGP_FARM_GPUS",
      defaultText: "auto",
    },
    {
      flags: "--name <name>",
      description: "this host's name in the farm: the worker's --name",
      env: "WGP_FARM_WORKER_NAME",
      defaultText: "the host name",
    },
    { flags: "--forget-host <name...>", description: "remove hosts that left the farm from the comparison" },
    { flags: "--json", description: "print the report as one JSON object" },
  ]);
  command.addHelpText(
    "after",
    "\nExit codes: 0 nothing blocks work (warnings allowed), 1 some check failed, 2 usage error.",
  );
  command.action(async () => {
    const settings = settingsOf(DoctorSettings, specs, command);
    const report = await runDoctor({
      host: workerHostName(settings.name),
      engine: settings.engine,
      redisUrl: settings.redisUrl,
      prefix: settings.prefix,
      ...(settings.wangpRoot ? { wangpRoot: settings.wangpRoot } : {}),
      ...(settings.mainOutputDir ? { mainOutputDir: settings.mainOutputDir } : {}),
      python: settings.python,
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
