/**
 * One scenario's farm: a private redis-server (AOF on, so that it can be stopped and restarted like a
 * production Redis), a key prefix, an output root and a temporary folder for everything else.
 */
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { bestEffort } from "@wgp-farm/config";
import {
  FarmConnection,
  type ImportReport,
  importTaskSource,
  RedisServerProcess,
  RedisTaskSink,
  type RetryPolicy,
} from "@wgp-farm/queue";
import { harnessLog } from "./harness-log.ts";

/** Whether a scenario's folder stays in /tmp: CHAOS_KEEP=1 when it broke an invariant, CHAOS_KEEP=all always. */
export function keepFiles(violations: readonly string[]): boolean {
  const keep = process.env.CHAOS_KEEP;
  return keep === "all" || (keep === "1" && violations.length > 0);
}

export interface ChaosFarmOptions {
  /** `aof` (default): durable, restartable. `none`: nothing on disk. */
  persistence?: "aof" | "none";
  /** A Redis the scenario runs itself (a Sentinel URL): no private redis-server is started. */
  redisUrl?: string;
}

export class ChaosFarm {
  readonly label: string;
  /** The scenario's temporary folder (Redis data, worker state, the output root, task files). */
  readonly dir: string;
  readonly farm: FarmConnection;
  readonly prefix: string;
  #redis: RedisServerProcess | undefined;
  readonly #redisUrl: string;
  readonly #persistence: "aof" | "none";

  private constructor(
    label: string,
    dir: string,
    redis: RedisServerProcess | undefined,
    farm: FarmConnection,
    prefix: string,
    persistence: "aof" | "none",
  ) {
    this.label = label;
    this.dir = dir;
    this.farm = farm;
    this.prefix = prefix;
    this.#redis = redis;
    this.#redisUrl = farm.url;
    this.#persistence = persistence;
  }

  static async create(label: string, options: ChaosFarmOptions = {}): Promise<ChaosFarm> {
    const dir = await mkdtemp(path.join(os.tmpdir(), `wgp-farm-chaos-${label}-`));
    const persistence = options.persistence ?? "aof";
    const redis = options.redisUrl
      ? undefined
      : await RedisServerProcess.start({ dataDir: path.join(dir, "redis"), persistence });
    const prefix = `chaos-${randomUUID().slice(0, 6)}`;
    // A service connection: it reconnects by itself when the scenario restarts Redis.
    const farm = await FarmConnection.open(options.redisUrl ?? (redis as RedisServerProcess).url, prefix, {
      role: "service",
      connectionName: "wgp-farm:chaos",
      logger: harnessLog,
    });
    // Redis goes away on purpose in some scenarios: the connection reconnects, nothing to report.
    farm.redis.on("error", () => undefined);
    const byName = farm.queues.byName.bind(farm.queues);
    const quiet = new WeakSet<object>();
    farm.queues.byName = (name: string) => {
      const queue = byName(name);
      if (!quiet.has(queue)) {
        queue.on("error", () => undefined);
        quiet.add(queue);
      }
      return queue;
    };
    await mkdir(path.join(dir, "out"), { recursive: true });
    return new ChaosFarm(label, dir, redis, farm, prefix, persistence);
  }

  get redisUrl(): string {
    return this.#redisUrl;
  }

  get redisPid(): number | undefined {
    return this.#redis?.pid;
  }

  #ownRedis(): RedisServerProcess {
    if (!this.#redis) throw new Error("this scenario runs its own Redis");
    return this.#redis;
  }

  /** The main output dir every worker of the scenario writes into. */
  get outputDir(): string {
    return path.join(this.dir, "out");
  }

  /** FAKE_WANGP_RECORD: the engines' init/submit/load events, one JSON line each. */
  get recordFile(): string {
    return path.join(this.dir, "wangp-record.jsonl");
  }

  /** Imports tasks the way `import-tasks` does (validated, indexed, jobId = task_id). */
  async import(tasks: readonly unknown[], retry: RetryPolicy): Promise<ImportReport> {
    const body = Buffer.from(tasks.map((task) => JSON.stringify(task)).join("\n"));
    return importTaskSource(
      new RedisTaskSink(this.farm, retry),
      {
        stream: (async function* () {
          yield body;
        })(),
        baseDir: this.dir,
        name: `chaos:${this.label}`,
      },
      {},
    );
  }

  /**
   * Stops Redis (SIGTERM: it writes its AOF, as `systemctl restart redis` would, or SIGKILL: a crash
   * that loses at most the last second of appendfsync everysec) and starts it again on the same port
   * and data folder after `downMs`.
   */
  async restartRedis(how: "stop" | "kill", downMs: number): Promise<void> {
    const redis = this.#ownRedis();
    const port = redis.port;
    if (how === "kill") await redis.kill();
    else await redis.stop();
    await new Promise((resolve) => setTimeout(resolve, downMs));
    this.#redis = await RedisServerProcess.start({
      dataDir: path.join(this.dir, "redis"),
      port,
      persistence: this.#persistence,
    });
  }

  /** Used memory of Redis in bytes (INFO memory). */
  async redisMemoryBytes(): Promise<number> {
    const info = await this.farm.redis.info("memory");
    return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
  }

  async close(keepFiles = false): Promise<void> {
    await bestEffort(this.farm.close(), harnessLog, "closing the farm connection");
    if (this.#redis) await bestEffort(this.#redis.stop(), harnessLog, "stopping the scenario's redis-server");
    if (!keepFiles)
      await bestEffort(rm(this.dir, { recursive: true, force: true }), harnessLog, `removing ${this.dir}`);
  }
}
