/** Exit codes scripts can trust. */
export const ExitCode = {
  ok: 0,
  /** The command ran, but some input was invalid or a named thing was not found. */
  failed: 1,
  /** Usage error, bad configuration, or Redis unreachable: nothing was done. */
  usage: 2,
} as const;

/** An error whose message is meant for the user as is, with the exit code to leave with. */
export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.usage,
  ) {
    super(message);
  }
}
