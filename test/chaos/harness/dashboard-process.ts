/** A real `wgp-farm dashboard` process on a free loopback port. */
import { type ChildProcess, spawn } from "node:child_process";
import type { ChaosFarm } from "./chaos-farm.ts";
import { WGP_FARM_BIN } from "./paths.ts";

export class DashboardProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly #output: string[];

  private constructor(child: ChildProcess, url: string, output: string[]) {
    this.child = child;
    this.url = url;
    this.#output = output;
  }

  /** Starts the dashboard; `env` adds credentials (WGP_FARM_DASHBOARD_PASSWORD / _TOKEN). */
  static async start(
    chaos: ChaosFarm,
    options: { env?: Record<string, string>; args?: string[] } = {},
  ): Promise<DashboardProcess> {
    const child = spawn(WGP_FARM_BIN, ["dashboard", "--port", "0", ...(options.args ?? [])], {
      env: {
        ...process.env,
        REDIS_URL: chaos.redisUrl,
        WGP_FARM_PREFIX: chaos.prefix,
        WGP_FARM_LOG_FORMAT: "json",
        WGP_FARM_DASHBOARD_HOST: "127.0.0.1",
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output: string[] = [];
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`dashboard did not start:\n${output.join("")}`)),
        20_000,
      );
      const onData = (chunk: Buffer) => {
        output.push(chunk.toString());
        if (output.length > 200) output.shift();
        const found = /"url":"(http:\/\/127\.0\.0\.1:\d+\/)"/.exec(output.join(""));
        if (found?.[1]) {
          clearTimeout(timer);
          resolve(found[1]);
        }
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`dashboard exited (${code}):\n${output.join("")}`));
      });
    });
    return new DashboardProcess(child, url, output);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  output(): string {
    return this.#output.join("");
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
