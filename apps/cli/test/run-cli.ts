import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const CLI_BIN = fileURLToPath(new URL("../bin/wgp-farm", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `wgp-farm` binary, as a user would. */
export function runCli(
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = startCli(args, options);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin?.end(options.input ?? "");
  });
}

/**
 * Starts the built binary. `ownProcessGroup` makes it lead a process group of its own, as a shell
 * starts a foreground job: `pressCtrlC` then signals the whole group, as a terminal's Ctrl+C does.
 */
export function startCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; ownProcessGroup?: boolean } = {},
): ChildProcess {
  return spawn(CLI_BIN, args, {
    cwd: options.cwd,
    env: { ...process.env, WGP_FARM_LOG_FORMAT: "json", ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
    detached: options.ownProcessGroup ?? false,
  });
}

/** SIGINT to every process of the child's group (the CLI, its engines, its private Redis). */
export function pressCtrlC(child: ChildProcess): void {
  if (child.pid === undefined) throw new Error("the CLI did not start");
  process.kill(-child.pid, "SIGINT");
}

/** SIGKILL to the child's whole group, so a failed test leaves no engine or Redis behind. */
export function killProcessGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL"); // not a group leader, or already gone
  }
}
