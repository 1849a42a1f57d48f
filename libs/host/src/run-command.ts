import { execFile } from "node:child_process";

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
export function runCommand(
  file: string,
  args: readonly string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CommandOutput> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        timeout: options.timeoutMs ?? 15_000,
        maxBuffer: 4 * 1024 * 1024,
        env: options.env ?? process.env,
        cwd: options.cwd,
        encoding: "utf8",
      },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ stdout, stderr });
          return;
        }
        const code = (error as NodeJS.ErrnoException).code;
        const detail = stderr.trim() || stdout.trim() || error.message;
        reject(new CommandFailedError(`${file} failed: ${detail}`, code, stderr, stdout));
      },
    );
  });
}
