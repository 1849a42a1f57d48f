import { ConfigError } from "@wgp-farm/config";
import { RedisServerMissingError, RedisUnreachableError } from "@wgp-farm/queue";
import { Command, CommanderError } from "commander";
import { registerCancel } from "./commands/cancel.js";
import { registerClean } from "./commands/clean.js";
import { registerDashboard } from "./commands/dashboard.js";
import { registerDemo } from "./commands/demo.js";
import { registerDoctor } from "./commands/doctor.js";
import { registerHeadless } from "./commands/headless.js";
import { registerImportTasks } from "./commands/import-tasks.js";
import { registerLs } from "./commands/ls.js";
import { registerPauseResume } from "./commands/pause.js";
import { registerPrefetch } from "./commands/prefetch.js";
import { registerRetry } from "./commands/retry.js";
import { registerSchema } from "./commands/schema.js";
import { registerStatus } from "./commands/status.js";
import { registerWatch } from "./commands/watch.js";
import { registerWorker } from "./commands/worker.js";
import { CliError, ExitCode } from "./exit-codes.js";

function buildProgram(): Command {
  const program = new Command()
    .name("wgp-farm")
    .description(
      "Run WanGP (Wan2GP) video generation on a farm of GPUs: tasks.json → Redis queues → one warm WanGP per GPU.",
    )
    .version("0.1.0")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerImportTasks(program);
  registerSchema(program);
  registerWatch(program);
  registerDemo(program);
  registerHeadless(program);
  registerDoctor(program);
  registerPrefetch(program);
  registerStatus(program);
  registerLs(program);
  registerRetry(program);
  registerPauseResume(program);
  registerClean(program);
  registerDashboard(program);
  registerWorker(program);
  registerCancel(program);
  program.commands.forEach((command) => {
    command.exitOverride();
  });
  return program;
}

function exitCodeFor(error: unknown): { code: number; message?: string } {
  if (error instanceof CommanderError) {
    const quiet = ["commander.helpDisplayed", "commander.version", "commander.help"].includes(error.code);
    return { code: quiet ? ExitCode.ok : ExitCode.usage };
  }
  if (error instanceof CliError) return { code: error.exitCode, message: error.message };
  if (
    error instanceof ConfigError ||
    error instanceof RedisUnreachableError ||
    error instanceof RedisServerMissingError
  ) {
    return { code: ExitCode.usage, message: error.message };
  }
  return {
    code: ExitCode.usage,
    message: error instanceof Error ? (error.stack ?? error.message) : String(error),
  };
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  const { code, message } = exitCodeFor(error);
  if (message) process.stderr.write(`wgp-farm: ${message}\n`);
  process.exitCode = code;
}
