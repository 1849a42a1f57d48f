import path from "node:path";
import { addOptions, createLogger, MINUTES, option, switchOption } from "@wgp-farm/config";
import { defaultEnginePyDir, defaultPython, EngineStartError } from "@wgp-farm/engine";
import { listGpus } from "@wgp-farm/host";
import type { Command } from "commander";
import { z } from "zod";
import { PYTHON, WANGP_ARGS, WANGP_ROOT } from "../cli-options.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { formatTable, printJson } from "../output/format.js";
import { DEFAULT_LOCK_NAME, ModelPrefetcher, type ModelPrefetchResult } from "../prefetch/model-prefetch.js";
import { WGP_OPTION_SET, wgpOptionsOf } from "../wgp-options.js";

const PREFETCH_OPTIONS = {
  wangpRoot: { ...WANGP_ROOT, required: true } as const,
  models: option({
    flag: "--models",
    takes: "list",
    env: "WGP_FARM_PREFETCH_MODELS",
    description: "model types to fetch, e.g. t2v,vace_14B",
    schema: z
      .string()
      .transform((list) =>
        list
          .split(",")
          .map((m) => m.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string()).min(1, "name at least one model type")),
    required: true,
  }),
  python: PYTHON,
  gpu: option({
    flag: "--gpu",
    takes: "index",
    description: "GPU to load on",
    schema: z.coerce.number().int().min(0),
    defaultText: "the first GPU",
  }),
  lockFile: option({
    flag: "--lock-file",
    takes: "file",
    description: "host lock shared by every prefetch of this checkout",
    schema: z.string().min(1),
    defaultText: `<wangp-root>/${DEFAULT_LOCK_NAME}`,
  }),
  force: switchOption({ flag: "--force", description: "load models WanGP already reports available, too" }),
  loadTimeoutMs: option({
    flag: "--timeout-min",
    unit: MINUTES,
    description: "longest download and load of one model",
    schema: z.coerce.number().positive(),
    default: 240 * 60_000,
  }),
  ...WGP_OPTION_SET,
  wangpArgs: WANGP_ARGS,
  json: switchOption({ flag: "--json", description: "print the results as JSON" }),
};

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
  const readOptions = addOptions(command, PREFETCH_OPTIONS);
  command.addHelpText(
    "after",
    "\nUse the same --wgp-* options as the workers: they decide which weight files (quantization) WanGP fetches." +
      "\nExit codes: 0 every model present or loaded, 1 some model failed, 2 usage error or WanGP did not start.",
  );
  command.action(async () => {
    const settings = readOptions();
    const wangpRoot = path.resolve(settings.wangpRoot);
    const logger = createLogger({ name: "prefetch" });
    const gpu = settings.gpu ?? (await firstGpu());
    const prefetcher = new ModelPrefetcher({
      wangpRoot,
      models: settings.models,
      python: settings.python ?? defaultPython(),
      enginePyDir: defaultEnginePyDir(),
      ...(gpu !== undefined ? { gpu } : {}),
      wgpOptions: wgpOptionsOf(settings),
      wangpArgs: settings.wangpArgs,
      lockFile: settings.lockFile ?? path.join(wangpRoot, DEFAULT_LOCK_NAME),
      force: settings.force,
      loadTimeoutMs: settings.loadTimeoutMs,
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
