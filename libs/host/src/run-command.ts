import { execa } from "execa";

export interface CommandOutput {
  stdout: string;
  stderr: string;
}

export class CommandFailedError extends Error {
  override name = "CommandFailedError";
  constructor(
    message: string,
    /** `ENOENT` when the program is not installed. */
    readonly code: string | number | undefined,
    readonly stderr: string,
    /** What it printed before failing (a probe may report on stdout and exit non-zero). */
    readonly stdout = "",
  ) {
    super(message);
  }
}

/** Runs a short probe command (no shell) with a time limit and returns its output. */
export async function runCommand(
  file: string,
  args: readonly string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CommandOutput> {
  const result = await execa(file, args, {
    timeout: options.timeoutMs ?? 15_000,
    maxBuffer: 4 * 1024 * 1024,
    env: options.env ?? process.env,
    extendEnv: false,
    cwd: options.cwd,
    stdin: "ignore",
    reject: false,
  });
  if (!result.failed) return { stdout: result.stdout, stderr: result.stderr };
  const code = result.code ?? result.exitCode;
  const detail = result.stderr.trim() || result.stdout.trim() || result.shortMessage;
  throw new CommandFailedError(`${file} failed: ${detail}`, code, result.stderr, result.stdout);
}
