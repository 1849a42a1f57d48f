import { UserError } from "@wgp-farm/config";
import { CommanderError } from "commander";
import { ExitCode } from "./exit-codes.js";
import { buildProgram } from "./program.js";

function exitCodeFor(error: unknown): { code: number; message?: string } {
  if (error instanceof CommanderError) {
    const quiet = ["commander.helpDisplayed", "commander.version", "commander.help"].includes(error.code);
    return { code: quiet ? ExitCode.ok : ExitCode.usage };
  }
  if (error instanceof UserError) return { code: error.exitCode, message: error.message };
  // Anything else is a bug or an environment failure: say it all.
  return {
    code: ExitCode.failed,
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
