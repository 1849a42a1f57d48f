/**
 * One redis-server (or Sentinel) process for the failure harnesses: on any address and port, inside
 * a network namespace when asked (`wrap`), nothing on disk unless its config says so. Ready when
 * `redis-cli` run from the same place gets PONG.
 */
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { execa, type ResultPromise } from "execa";

/** Turns a command into the argv that runs it elsewhere (`inNamespace`); plain by default. */
export type Wrap = (command: string, args: readonly string[]) => string[];

const here: Wrap = (command, args) => [command, ...args];

export interface RedisNodeOptions {
  host: string;
  port: number;
  /** Its working folder (`--dir`): the folder of a Sentinel's config file. */
  dir: string;
  /** A config file, read first (a Sentinel's: it rewrites it as it learns). */
  configFile?: string;
  sentinel?: boolean;
  /**
   * Also listen on this unix socket: a file, so reachable from every network namespace. The harness
   * reads a Redis that runs inside a NetLab through it (ioredis takes the path as its URL).
   */
  unixSocket?: string;
  /** Where it logs (default: nowhere: stdout, ignored). A Sentinel logs its events there. */
  logFile?: string;
  /** `warning` by default; a Sentinel's `+slave`/`+sentinel` discoveries are `notice`. */
  logLevel?: "debug" | "verbose" | "notice" | "warning";
  /** More arguments (`--replicaof 127.0.0.1 6380`). */
  args?: readonly string[];
  wrap?: Wrap;
  startTimeoutMs?: number;
}

/** PONG from `host:port` within `timeoutMs`, asked from where `wrap` runs commands. */
export async function answersPing(
  host: string,
  port: number,
  wrap: Wrap = here,
  timeoutMs = 2_000,
): Promise<boolean> {
  const [file = "redis-cli", ...args] = wrap("redis-cli", ["-h", host, "-p", String(port), "PING"]);
  const result = await execa(file, args, { reject: false, timeout: timeoutMs });
  return result.exitCode === 0 && result.stdout.trim() === "PONG";
}

export class RedisNode {
  readonly host: string;
  readonly port: number;
  readonly #child: ResultPromise;
  readonly #wrap: Wrap;
  #exited = false;

  private constructor(host: string, port: number, child: ResultPromise, wrap: Wrap) {
    this.host = host;
    this.port = port;
    this.#child = child;
    this.#wrap = wrap;
    void child.finally(() => {
      this.#exited = true;
    });
  }

  static async start(options: RedisNodeOptions): Promise<RedisNode> {
    const wrap = options.wrap ?? here;
    const args = [
      ...(options.configFile ? [options.configFile] : []),
      ...(options.sentinel ? ["--sentinel"] : []),
      "--port",
      String(options.port),
      "--bind",
      options.host,
      "--dir",
      options.dir,
      "--save",
      "",
      "--appendonly",
      "no",
      "--daemonize",
      "no",
      "--logfile",
      options.logFile ?? "",
      "--loglevel",
      options.logLevel ?? "warning",
      // Reached from other namespaces' addresses, without a password: all of them private to the test.
      "--protected-mode",
      "no",
      ...(options.unixSocket ? ["--unixsocket", options.unixSocket, "--unixsocketperm", "700"] : []),
      ...(options.args ?? []),
    ];
    const [file = "redis-server", ...wrapped] = wrap("redis-server", args);
    // execa's cleanup ends the server when this process exits.
    const child = execa(file, wrapped, { reject: false, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    const node = new RedisNode(options.host, options.port, child, wrap);
    const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
    while (!(await answersPing(options.host, options.port, wrap, 1_000))) {
      if (!node.running || Date.now() > deadline) {
        node.kill();
        const { stderr } = await child;
        // With a log file, the reason (a port taken, a bad option) is there, not on stderr.
        const log = options.logFile ? await readFile(options.logFile, "utf8").catch(() => "") : "";
        const why = [String(stderr).trim(), ...log.trimEnd().split("\n").slice(-5)].filter(Boolean);
        throw new Error(`redis-server on ${options.host}:${options.port} did not start: ${why.join("\n")}`);
      }
      await sleep(50);
    }
    return node;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return !this.#exited;
  }

  /** Whether it answers PING now, asked from where it runs. */
  answersPing(timeoutMs = 2_000): Promise<boolean> {
    return answersPing(this.host, this.port, this.#wrap, timeoutMs);
  }

  /** SIGKILL by default: a crash, as a failover test wants it. */
  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (this.running) this.#child.kill(signal);
  }

  /** Ends the process and waits for its exit. */
  async stop(): Promise<void> {
    this.kill();
    await this.#child;
  }
}
