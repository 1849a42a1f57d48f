/**
 * A real `wgp-farm api` process for the scenarios that kill it: started from the built CLI over the
 * scenario's Redis, with webhook timings short enough for a chaos run, and awaited until it answers.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { WGP_FARM_BIN } from "./paths.ts";

export interface ApiProcessSpec {
  redisUrl: string;
  prefix: string;
  port: number;
  /** Output root and inputs folder of the API. */
  dir: string;
  /** More variables (limits, task retries …). */
  env?: Record<string, string>;
}

/** Starts `wgp-farm api`: private targets allowed, backoff 1 s doubling to 2 s for 8 s, delivery lock 2 s. */
export function startApiProcess(spec: ApiProcessSpec): ChildProcess {
  const args = ["api", "--redis-url", spec.redisUrl, "--prefix", spec.prefix, "--port", String(spec.port)];
  return spawn(WGP_FARM_BIN, args, {
    env: {
      ...process.env,
      WGP_FARM_API_OUTPUT_ROOT: spec.dir,
      WGP_FARM_API_INPUTS_DIR: spec.dir,
      WGP_FARM_WEBHOOK_ALLOW_PRIVATE: "1",
      WGP_FARM_WEBHOOK_MIN_BACKOFF: "1",
      WGP_FARM_WEBHOOK_MAX_BACKOFF: "2",
      WGP_FARM_WEBHOOK_RETRY_FOR: "8",
      WGP_FARM_WEBHOOK_TIMEOUT: "2",
      WGP_FARM_WEBHOOK_LOCK: "2",
      WGP_FARM_LOG_LEVEL: "error",
      ...spec.env,
    },
    stdio: ["ignore", "ignore", "ignore"],
  });
}

/** Waits until the API on `port` answers /healthz; returns how long that took (ms). */
export async function untilApiUp(port: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < 300; i += 1) {
    const up = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (res) => res.ok,
      () => false,
    );
    if (up) return performance.now() - started;
    await sleep(50);
  }
  throw new Error("the API did not come back");
}

/** SIGKILL, then waits for the process to be gone. */
export async function killApiProcess(api: ChildProcess): Promise<void> {
  if (api.exitCode !== null || api.signalCode !== null) return;
  const exited = new Promise((resolve) => api.once("exit", resolve));
  api.kill("SIGKILL");
  await exited;
}
