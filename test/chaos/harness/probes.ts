/** Timed probes of the operator's views while the farm works: dashboard requests and `wgp-farm status`. */
import { spawn } from "node:child_process";
import type { ChaosFarm } from "./chaos-farm.ts";
import { WGP_FARM_BIN } from "./paths.ts";

export interface Timed {
  ms: number;
  ok: boolean;
  detail?: string;
}

/** One HTTP request to the dashboard; `ok` when the status is `expect`. */
export async function timedFetch(url: string, expect = 200, init: RequestInit = {}): Promise<Timed> {
  const started = performance.now();
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
    await response.arrayBuffer();
    return {
      ms: performance.now() - started,
      ok: response.status === expect,
      detail: String(response.status),
    };
  } catch (error) {
    return { ms: performance.now() - started, ok: false, detail: (error as Error).message };
  }
}

/** Runs a `wgp-farm` command against the scenario's farm; resolves with its wall time and output. */
export function timedCli(
  chaos: ChaosFarm,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<Timed & { code: number | null; stdout: string; stderr: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(WGP_FARM_BIN, args, {
      env: { ...process.env, REDIS_URL: chaos.redisUrl, WGP_FARM_PREFIX: chaos.prefix, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once("exit", (code) =>
      resolve({
        ms: performance.now() - started,
        ok: code === 0,
        code,
        stdout,
        stderr,
        detail: stderr.slice(-500),
      }),
    );
  });
}
