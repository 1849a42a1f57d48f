import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

export const CLI_BIN = fileURLToPath(new URL("../bin/wgp-farm", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

function cliEnv(env: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  return { ...process.env, WGP_FARM_LOG_FORMAT: "json", ...env };
}

/** Runs the built `wgp-farm` binary, as a user would. */
export async function runCli(
  args: string[],
  options: CliOptions & { input?: string } = {},
): Promise<CliResult> {
  const result = await execa(CLI_BIN, args, {
    cwd: options.cwd,
    env: cliEnv(options.env),
    input: options.input ?? "",
    reject: false,
    stripFinalNewline: false,
  });
  // Neither an exit code nor a signal: it did not start.
  if (result.exitCode === undefined && result.signal === undefined) throw result;
  return { code: result.exitCode ?? null, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Starts the built binary (a ChildProcess that is also a promise of its end). `ownProcessGroup` makes it lead a process group of its own, as a shell
 * starts a foreground job: `pressCtrlC` then signals the whole group, as a terminal's Ctrl+C does.
 * Signals a test sends are the only ones it gets (no forced kill after them): tests time shutdowns.
 */
export function startCli(args: string[], options: CliOptions & { ownProcessGroup?: boolean } = {}) {
  return execa(CLI_BIN, args, {
    cwd: options.cwd,
    env: cliEnv(options.env),
    stdin: "pipe",
    detached: options.ownProcessGroup ?? false,
    reject: false,
    buffer: false,
    forceKillAfterDelay: false,
  });
}

/** SIGINT to every process of the child's group (the CLI, its engines, its private Redis). */
export function pressCtrlC(child: Pick<ChildProcess, "pid">): void {
  if (child.pid === undefined) throw new Error("the CLI did not start");
  process.kill(-child.pid, "SIGINT");
}

/** SIGKILL to the child's whole group, so a failed test leaves no engine or Redis behind. */
export function killProcessGroup(child: Pick<ChildProcess, "pid" | "kill">): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL"); // not a group leader, or already gone
  }
}

/** A CLI started by `startCli`. */
export type CliProcess = ReturnType<typeof startCli>;

/** A CLI started with no input, its output collected as it comes. */
export function startCollecting(args: string[], options: Parameters<typeof startCli>[1] = {}) {
  const child = startCli(args, options);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdin?.end();
  return { child, stdout: () => stdout, stderr: () => stderr };
}

/** The CLI's exit code once it has ended and closed its output (null when a signal ended it). */
export async function exitOf(child: CliProcess): Promise<number | null> {
  return (await child).exitCode ?? null;
}

/** Whether the CLI has not exited yet. */
export function isRunning(child: CliProcess): boolean {
  const { exitCode, signalCode } = child.nodeChildProcess;
  return exitCode === null && signalCode === null;
}
