import { mkdir } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { RedisServerMissingError } from "../errors.js";
import { connectRedis } from "./redis-connection.js";
import { redisPidFile, stopStaleRedisServer } from "./stale-redis-server.js";

export interface RedisServerOptions {
  /** Folder for the AOF and RDB files (created if missing). */
  dataDir: string;
  /** TCP port on 127.0.0.1; a free one is chosen when absent. */
  port?: number;
  /** `aof`: AOF with fsync every second (durable private Redis); `none`: nothing on disk (tests). */
  persistence?: "aof" | "none";
  /** The redis-server binary (default: `redis-server` on PATH, or WGP_FARM_REDIS_SERVER). */
  binary?: string;
  /** How long to wait for the server to answer PING (default 10 s). */
  startTimeoutMs?: number;
}

export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

const INSTALL_HINT =
  "install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) or set REDIS_URL to a running Redis";

/**
 * A private redis-server child process: the embedded default of `headless` and `demo`, and the real
 * Redis every test runs against. Bound to loopback only; configured for a queue (noeviction).
 */
type ServerChild = ReturnType<typeof spawnServer>;

/**
 * The server in its own process group: a terminal's Ctrl+C reaches every process of the foreground
 * group, and the private Redis must outlive the drain that follows it; the owner stops it (stop()) last.
 */
function spawnServer(binary: string, args: string[]) {
  return execa(binary, args, {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
    detached: true,
    reject: false,
    buffer: false,
    // stop() has its own grace before SIGKILL.
    forceKillAfterDelay: false,
  });
}

export class RedisServerProcess {
  readonly url: string;
  readonly port: number;
  readonly #child: ServerChild;
  readonly #exited: Promise<void>;
  #running = true;

  private constructor(url: string, port: number, child: ServerChild, exited: Promise<void>) {
    this.url = url;
    this.port = port;
    this.#child = child;
    this.#exited = exited.then(() => {
      this.#running = false;
    });
  }

  static async start(options: RedisServerOptions): Promise<RedisServerProcess> {
    await mkdir(options.dataDir, { recursive: true });
    const dataDir = path.resolve(options.dataDir);
    await stopStaleRedisServer(dataDir);
    const port = options.port ?? (await findFreePort());
    const binary = options.binary ?? process.env.WGP_FARM_REDIS_SERVER ?? "redis-server";
    const persistence =
      options.persistence === "none"
        ? ["--appendonly", "no", "--save", ""]
        : ["--appendonly", "yes", "--appendfsync", "everysec", "--save", "900 1"];
    const args = [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dataDir,
      "--pidfile",
      redisPidFile(dataDir),
      "--daemonize",
      "no",
      "--maxmemory-policy",
      "noeviction",
      "--logfile",
      "",
      "--loglevel",
      "warning",
      ...persistence,
    ];
    const child = spawnServer(binary, args);
    let running = true;
    const ended = child.then((result) => {
      running = false;
      return result;
    });
    // Neither an exit code nor a signal: the server never started.
    const spawnError = ended.then((result) =>
      result.exitCode === undefined && result.signal === undefined
        ? Promise.reject(
            result.code === "ENOENT"
              ? new RedisServerMissingError(
                  `redis-server not found (looked for '${binary}'): ${INSTALL_HINT}`,
                )
              : result,
          )
        : new Promise<never>(() => undefined),
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const exited = ended.then(() => undefined);
    // Being in a group of its own, the server does not die with its owner: whenever the owner exits
    // (a second Ctrl+C, an error), the server is told to stop too. Only a SIGKILL of the owner leaves
    // it running, and the next start on this folder stops it (stopStaleRedisServer).
    const stopWithOwner = () => {
      if (running) child.kill("SIGTERM");
    };
    process.once("exit", stopWithOwner);
    void exited.then(() => process.off("exit", stopWithOwner));
    const url = `redis://127.0.0.1:${port}`;
    const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
    for (;;) {
      try {
        const probe = await Promise.race([connectRedis(url, { timeoutMs: 500 }), spawnError]);
        await probe.quit();
        return new RedisServerProcess(url, port, child, exited);
      } catch (error) {
        if (error instanceof RedisServerMissingError) throw error;
        if (!running || Date.now() > deadline) {
          child.kill("SIGKILL");
          throw new Error(
            `redis-server did not start on port ${port}: ${stderr.trim() || (error as Error).message}`,
          );
        }
        await sleep(50);
      }
    }
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Stops the server, letting it flush its AOF (SIGTERM); SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.#running) return;
    this.#child.kill("SIGTERM");
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  /** Kills the server at once, as a crash would (for recovery tests). */
  async kill(): Promise<void> {
    if (!this.#running) return;
    this.#child.kill("SIGKILL");
    await this.#exited;
  }
}
