import path from "node:path";
import { createLogger } from "@wgp-farm/config";
import { defaultEnginePyDir, defaultPython, EngineStartError } from "@wgp-farm/engine";
import { listGpus } from "@wgp-farm/host";
import type { Command } from "commander";
import { z } from "zod";
import { addOptions, settingsOf } from "../cli-options.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { formatTable, printJson } from "../output/format.js";
import { DEFAULT_LOCK_NAME, ModelPrefetcher, type ModelPrefetchResult } from "../prefetch/model-prefetch.js";
import { WGP_CLI_OPTIONS, WGP_SETTINGS_FIELDS, wgpOptionsOf } from "../wgp-options.js";

const PrefetchSettings = z.object({
  wangpRoot: z.string({ error: "--wangp-root (or WGP_FARM_WANGP_ROOT) is required" }).min(1),
  models: z
    .string({ error: "--models (or WGP_FARM_PREFETCH_MODELS) is required" })
    .transform((list) =>
      list
        .split(",")
        .map((m) => m.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string()).min(1, "name at least one model type")),
  python: z.string().default(defaultPython()),
  gpu: z.coerce.number().int().min(0).optional(),
  lockFile: z.string().optional(),
  force: z.boolean().default(false),
  timeoutMin: z.coerce.number().positive().default(240),
  wangpArg: z.array(z.string()).default([]),
  json: z.boolean().default(false),
  ...WGP_SETTINGS_FIELDS,
});

/** WanGP needs a GPU to start; without --gpu, the first one nvidia-smi lists (or whatever CUDA picks). */
async function firstGpu(): Promise<number | undefined> {
  try {
    return (await listGpus())[0]?.index;
  } catch {
    return undefined;
  }
}

function formatResults(results: readonly ModelPrefetchResult[]): string {
  const rows = results.map((r) => [
    r.model_type,
    r.outcome,
    r.before ?? "?",
    r.after ?? "?",
    `${r.seconds}s`,
    r.message ?? "",
  ]);
  return formatTable(["model", "outcome", "before", "after", "time", "note"], rows);
}

export function registerPrefetch(program: Command): void {
  const command = program
    .command("prefetch")
    .description(
      "download and load WanGP models once on this host (WanGP --test mode), one at a time under a host lock, before the workers need them",
    );
  const specs = addOptions(command, [
    { flags: "--wangp-root <dir>", description: "the WanGP checkout", env: "WGP_FARM_WANGP_ROOT" },
    {
      flags: "--models <list>",
      description: "model types to fetch, e.g. t2v,vace_14B",
      env: "WGP_FARM_PREFETCH_MODELS",
    },
    {
      flags: "--python <path>",
      description: "the Python that runs WanGP (its virtualenv's)",
      env: "WGP_FARM_PYTHON",
      defaultText: "python3",
    },
    { flags: "--gpu <index>", description: "GPU to load on", defaultText: "the first GPU" },
    {
      flags: "--lock-file <file>",
      description: "host lock shared by every prefetch of this checkout",
      defaultText: `<wangp-root>/${DEFAULT_LOCK_NAME}`,
    },
    { flags: "--force", description: "load models WanGP already reports available, too" },
    {
      flags: "--timeout-min <minutes>",
      description: "longest download and load of one model",
      defaultText: "240",
    },
    ...WGP_CLI_OPTIONS,
    { flags: "--wangp-arg <arg...>", description: "extra WanGP CLI argument (repeatable)" },
    { flags: "--json", description: "print the results as JSON" },
  ]);
  command.addHelpText(
    "after",
    "\nUse the same --wgp-* options as the workers: they decide which weight files (quantization) WanGP fetches." +
      "\nExit codes: 0 every model present or loaded, 1 some model failed, 2 usage error or WanGP did not start.",
  );
  command.action(async () => {
    const settings = settingsOf(PrefetchSettings, specs, command);
    const wangpRoot = path.resolve(settings.wangpRoot);
    const logger = createLogger({ name: "prefetch" });
    const gpu = settings.gpu ?? (await firstGpu());
    const prefetcher = new ModelPrefetcher({
      wangpRoot,
      models: settings.models,
      python: settings.python,
      enginePyDir: defaultEnginePyDir(),
      ...(gpu !== undefined ? { gpu } : {}),
      wgpOptions: wgpOptionsOf(settings),
      wangpArgs: settings.wangpArg,
      lockFile: settings.lockFile ?? path.join(wangpRoot, DEFAULT_LOCK_NAME),
      force: settings.force,
      loadTimeoutMs: settings.timeoutMin * 60_000,
      logger,
      onLockWait: (holder) =>
        logger.info(
          { holder },
          `waiting for the prefetch lock${holder ? ` held by pid ${holder.pid} on ${holder.host}` : ""}`,
        ),
    });
    let results: ModelPrefetchResult[];
    try {
      results = await prefetcher.run();
    } catch (error) {
      if (error instanceof EngineStartError) {
        throw new CliError(
          `WanGP did not start: ${error.message}\n${error.stderrTail.slice(-20).join("\n")}`.trim(),
        );
      }
      throw error;
    }
    if (settings.json) printJson({ models: results });
    else process.stdout.write(`${formatResults(results)}\n`);
    process.exitCode = results.some((r) => r.outcome === "failed") ? ExitCode.failed : ExitCode.ok;
  });
}
