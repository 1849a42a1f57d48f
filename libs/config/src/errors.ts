/** Exit codes scripts can trust. */
export const ExitCode = {
  ok: 0,
  /** The command ran, but some input was invalid or a named thing was not found. */
  failed: 1,
  /** Usage error, bad configuration, or Redis unreachable: nothing was done. */
  usage: 2,
} as const;

/**
 * An error whose message is meant for the operator as it is (it says what to do next), with the exit
 * code a command leaves with. `main.ts` maps this one class; every package's user-facing errors extend it.
 */
export class UserError extends Error {
  override name = "UserError";
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.usage,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A setting (flag, environment variable, configuration file) that is missing or wrong. */
export class ConfigError extends UserError {
  override name = "ConfigError";
}
