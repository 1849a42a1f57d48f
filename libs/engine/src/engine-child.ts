import { EventEmitter } from "node:events";
import { readFile } from "node:fs/promises";
import type { Readable, Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@wgp-farm/config";
import { execa } from "execa";
import type { ProcessExit } from "./engine-types.js";
import { LineRing } from "./line-ring.js";
import { splitLines } from "./line-splitter.js";

/** Longest stderr line kept; the rest of it is dropped (WanGP's or a library's output can be anything). */
const MAX_STDERR_LINE_BYTES = 64 * 1024;

/** How long to wait for the other half of "process exited" + "channel closed" before forcing it. */
export const CHANNEL_GRACE_MS = 2_000;

export interface EngineChildSpec {
  command: string;
  args: readonly string[];
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** How many stderr lines to keep for error reports. */
  stderrLines: number;
  logger: Logger;
}

export interface EngineChildEvents {
  /** The process exited and its channel closed (or one of them, and the other never followed). */
  exit: [ProcessExit];
  /** The channel closed while the process lived on: it can no longer be driven and is killed. */
  broken: [];
  stderr: [line: string];
}

/** Resident memory of a process, from /proc, in MiB (undefined when it cannot be read). */
export async function residentMiB(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match?.[1] ? Number(match[1]) / 1024 : undefined;
}

function spawn(spec: EngineChildSpec) {
  return execa(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env,
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    buffer: false,
    reject: false,
  });
}

/**
 * The engine's OS process: spawn with piped stdio, the last stderr lines, one `exit` once the
 * process has exited and its protocol channel has closed, and the stop ladder (wait, SIGTERM,
 * SIGKILL). The protocol itself is EngineChannel's; the owner says when the channel closed.
 */
export class EngineChild extends EventEmitter<EngineChildEvents> {
  readonly #subprocess: ReturnType<typeof spawn>;
  readonly #logger: Logger;
  readonly #stderr: LineRing;
  #processExit: ProcessExit | undefined;
  #channelClosed = false;
  readonly #exited = Promise.withResolvers<ProcessExit>();
  #finished = false;

  constructor(spec: EngineChildSpec) {
    super();
    this.#logger = spec.logger;
    this.#stderr = new LineRing(spec.stderrLines);
    const subprocess = spawn(spec);
    this.#subprocess = subprocess;
    // The outcome is read from the child's own events; execa's promise only repeats it.
    subprocess.catch(() => {});
    const child = subprocess.nodeChildProcess;
    child.on("exit", (code, signal) => this.#onProcessExit({ code, signal }));
    child.on("error", (error) => {
      this.#stderr.push(`spawn error: ${error.message}`);
      if (subprocess.pid === undefined) this.#onProcessExit({ code: null, signal: null });
    });
    subprocess.stdin.on("error", (error) => this.#logger.warn({ err: error }, "engine stdin error"));
    splitLines(subprocess.stderr, MAX_STDERR_LINE_BYTES, ({ text, cutBytes }) => {
      const line = cutBytes > 0 ? `${text}… (${cutBytes} more bytes)` : text;
      this.#stderr.push(line);
      this.emit("stderr", line);
    });
  }

  get pid(): number | undefined {
    return this.#subprocess.pid;
  }

  /** The engine's end of the channel: what it writes (its stdout) and what it reads (its stdin). */
  get stdout(): Readable {
    return this.#subprocess.stdout;
  }

  get stdin(): Writable {
    return this.#subprocess.stdin;
  }

  /** How the process ended, once it has. */
  get processExit(): ProcessExit | undefined {
    return this.#processExit;
  }

  /** Resolves with the `exit` event's value. */
  get exited(): Promise<ProcessExit> {
    return this.#exited.promise;
  }

  stderrTail(): string[] {
    return this.#stderr.lines();
  }

  residentMiB(): Promise<number | undefined> {
    return residentMiB(this.#processExit ? undefined : this.pid);
  }

  /** Sends a signal unless the process has already exited. */
  kill(signal: NodeJS.Signals): void {
    if (!this.#processExit) this.#subprocess.kill(signal);
  }

  /** After the owner asked the engine to stop: waits `graceMs`, then SIGTERM, `killAfterMs`, SIGKILL. */
  async stop(graceMs: number, killAfterMs: number): Promise<ProcessExit> {
    if (!(await this.#exitedWithin(graceMs))) {
      this.#logger.warn({ pid: this.pid }, "engine ignored shutdown; sending SIGTERM");
      this.kill("SIGTERM");
      if (!(await this.#exitedWithin(killAfterMs))) this.kill("SIGKILL");
    }
    return this.#exited.promise;
  }

  /** The owner read the last line of the channel. */
  channelClosed(): void {
    this.#channelClosed = true;
    if (this.#processExit) {
      this.#finish();
      return;
    }
    setTimeout(() => {
      if (this.#processExit) return;
      this.emit("broken");
      this.kill("SIGKILL");
    }, CHANNEL_GRACE_MS).unref();
  }

  #onProcessExit(exit: ProcessExit): void {
    this.#processExit ??= exit;
    if (this.#channelClosed) this.#finish();
    else setTimeout(() => this.#finish(), CHANNEL_GRACE_MS).unref();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    const exit = this.#processExit ?? { code: null, signal: null };
    this.emit("exit", exit);
    this.#exited.resolve(exit);
  }

  async #exitedWithin(ms: number): Promise<boolean> {
    const timeout = new AbortController();
    const exited = await Promise.race([
      this.#exited.promise.then(() => true),
      sleep(ms, false, { signal: timeout.signal }),
    ]);
    timeout.abort();
    return exited;
  }
}
