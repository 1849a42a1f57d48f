import { ExitCode, UserError } from "@wgp-farm/config";

export { ExitCode };

/** An error raised by a command itself, with the exit code to leave with. */
export class CliError extends UserError {
  override name = "CliError";
}
