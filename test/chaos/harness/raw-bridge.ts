/**
 * The real engine-py driven by raw bytes, not through @wgp-farm/engine (which only sends valid
 * commands): for throwing garbage at it and reading every message it answers with.
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { FAKE_WANGP, ROOT } from "./paths.ts";

export type BridgeMessage = Record<string, unknown> & { type?: string; id?: unknown };

export class RawBridge {
  readonly child: ChildProcess;
  readonly #messages: BridgeMessage[] = [];
  #waiter: (() => void) | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderrTail = "";

  private constructor(child: ChildProcess) {
    this.child = child;
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    createInterface({ input: child.stdout as NodeJS.ReadableStream, crlfDelay: Number.POSITIVE_INFINITY }).on(
      "line",
      (line) => {
        let message: BridgeMessage;
        try {
          message = JSON.parse(line) as BridgeMessage;
        } catch {
          message = { type: "(not JSON)", line };
        }
        this.#messages.push(message);
        this.#waiter?.();
      },
    );
    child.stderr?.on("data", (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4_000);
    });
  }

  /** engine-py with its wangp adapter on the WanGP double. */
  static start(configDir: string, env: Record<string, string> = {}): RawBridge {
    const child = spawn(
      "python3",
      ["-m", "wgp_bridge", "--adapter", "wangp", "--wangp-root", FAKE_WANGP, "--config-dir", configDir],
      {
        env: {
          ...process.env,
          PYTHONPATH: path.join(ROOT, "engine-py"),
          PYTHONDONTWRITEBYTECODE: "1",
          FAKE_WANGP_PREVIEW_BYTES: "0",
          ...env,
        },
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    child.stdin?.on("error", () => undefined);
    return new RawBridge(child);
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  write(bytes: Buffer | string): Promise<void> {
    return new Promise((resolve) => {
      const stdin = this.child.stdin;
      if (!stdin || stdin.destroyed) return resolve();
      if (stdin.write(bytes)) resolve();
      else stdin.once("drain", () => resolve());
    });
  }

  send(command: Record<string, unknown>): Promise<void> {
    return this.write(`${JSON.stringify(command)}\n`);
  }

  /** Messages received and not yet taken, up to and including the first matching `until`. */
  async take(until: (message: BridgeMessage) => boolean, timeoutMs: number): Promise<BridgeMessage[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.#messages.findIndex(until);
      if (index >= 0) return this.#messages.splice(0, index + 1);
      if (!this.alive) throw new Error(`engine-py exited: ${this.stderrTail.slice(-1_000)}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.#messages.slice(-5))}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}
