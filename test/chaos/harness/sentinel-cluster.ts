/**
 * Redis with Sentinel on loopback: a primary, one replica and three Sentinels (quorum 2; two of them
 * candidates for leading a failover, the third only a voter) on free ports, for failover scenarios.
 * `whenReplicaSeen` waits until the Sentinels know the replica and each other (a failover needs both)
 * and the replica's link is online (WAIT counts only that); `killPrimary` crashes the primary;
 * `whenPromoted` waits until the Sentinels name the replica as the primary and it says so itself.
 * Each node logs to a file in the cluster's folder (the Sentinels their `+sdown`, `+odown`,
 * `+try-failover`, `+elected-leader`, `-failover-abort-*` events); a wait that times out ends with
 * those logs, so that a failover that did not happen says why.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { bestEffort } from "@wgp-farm/config";
import { findFreePort } from "@wgp-farm/queue";
import { execa } from "execa";
import { until } from "./farm-watch.ts";
import { harnessLog } from "./harness-log.ts";
import { RedisNode } from "./redis-node.ts";

const HOST = "127.0.0.1";
const SENTINELS = 3;
const QUORUM = 2;
/** How long a silent primary takes to be judged down (fast, for tests). */
const DOWN_AFTER_MS = 1_000;
/**
 * The last Sentinel's down-after: it votes in the election but does not stand in it. Every Sentinel
 * that judges the primary down asks the others for their vote and, until one comes, votes for itself;
 * when all three judge it within the same few hundred ms (as on a loaded machine), each ends with its
 * own vote, nobody has a majority, and the next round waits 2 × failover-timeout (20 s). Two
 * candidates cannot split three votes: the third has given its vote to one of them before it would
 * judge the primary down itself, and a Sentinel that voted for another does not start a failover.
 */
const VOTER_DOWN_AFTER_MS = 3 * DOWN_AFTER_MS;
const FAILOVER_TIMEOUT_MS = 10_000;
const LOG_FILE = "redis.log";

export interface Address {
  host: string;
  port: number;
}

async function cli(address: Address, ...args: string[]): Promise<string> {
  const result = await execa("redis-cli", ["-h", address.host, "-p", String(address.port), ...args], {
    reject: false,
    timeout: 2_000,
  });
  return result.stdout;
}

/** `SENTINEL REPLICAS` and the like answer flat field/value lists, one per line; read as records. */
function records(reply: string): Array<Record<string, string>> {
  const lines = reply.split("\n");
  const result: Array<Record<string, string>> = [];
  let current: Record<string, string> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const key = lines[i] as string;
    if (key === "name" && Object.keys(current).length > 0) {
      result.push(current);
      current = {};
    }
    current[key] = lines[i + 1] as string;
  }
  if (Object.keys(current).length > 0) result.push(current);
  return result;
}

export class SentinelCluster {
  /** The name the Sentinels monitor the primary by (ioredis' `name`). */
  readonly masterName: string;
  readonly #dir: string;
  /** Each node's folder in `#dir` (where its log is) and its first port. */
  readonly #nodeNames: ReadonlyArray<{ name: string; port: number }>;
  #primary: RedisNode;
  #replica: RedisNode;
  readonly #sentinels: RedisNode[];

  private constructor(
    masterName: string,
    dir: string,
    nodeNames: ReadonlyArray<{ name: string; port: number }>,
    primary: RedisNode,
    replica: RedisNode,
    sentinels: RedisNode[],
  ) {
    this.masterName = masterName;
    this.#dir = dir;
    this.#nodeNames = nodeNames;
    this.#primary = primary;
    this.#replica = replica;
    this.#sentinels = sentinels;
  }

  static async start(masterName = "wgp-farm"): Promise<SentinelCluster> {
    const dir = await mkdtemp(path.join(os.tmpdir(), "wgp-farm-sentinel-"));
    const started: RedisNode[] = [];
    const names: Array<{ name: string; port: number }> = [];
    try {
      const node = async (name: string, options: Partial<Parameters<typeof RedisNode.start>[0]> = {}) => {
        const nodeDir = path.join(dir, name);
        await mkdir(nodeDir);
        const one = await RedisNode.start({
          host: HOST,
          port: await findFreePort(),
          dir: nodeDir,
          logFile: path.join(nodeDir, LOG_FILE),
          logLevel: "notice",
          ...options,
        });
        names.push({ name, port: one.port });
        started.push(one);
        return one;
      };
      const primary = await node("primary");
      const replica = await node("replica", { args: ["--replicaof", HOST, String(primary.port)] });
      const sentinels: RedisNode[] = [];
      for (let i = 0; i < SENTINELS; i++) {
        const downAfterMs = i === SENTINELS - 1 ? VOTER_DOWN_AFTER_MS : DOWN_AFTER_MS;
        const configFile = path.join(dir, `sentinel-${i}.conf`);
        await writeFile(
          configFile,
          [
            `sentinel monitor ${masterName} ${HOST} ${primary.port} ${QUORUM}`,
            `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
            `sentinel failover-timeout ${masterName} ${FAILOVER_TIMEOUT_MS}`,
            `sentinel parallel-syncs ${masterName} 1`,
            "",
          ].join("\n"),
        );
        sentinels.push(await node(`sentinel-${i}`, { configFile, sentinel: true }));
      }
      return new SentinelCluster(masterName, dir, names, primary, replica, sentinels);
    } catch (error) {
      for (const node of started) await bestEffort(node.stop(), harnessLog, "stopping a Sentinel test node");
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Where the Sentinels listen (ioredis' `sentinels`). */
  get sentinels(): Address[] {
    return this.#sentinels.map((sentinel) => ({ host: sentinel.host, port: sentinel.port }));
  }

  get primary(): Address {
    return { host: this.#primary.host, port: this.#primary.port };
  }

  get replica(): Address {
    return { host: this.#replica.host, port: this.#replica.port };
  }

  /** Until every Sentinel lists the replica as up and knows the other Sentinels. */
  async whenReplicaSeen(timeoutMs = 20_000): Promise<void> {
    await until(
      async () => {
        for (const sentinel of this.sentinels) {
          const replicas = records(await cli(sentinel, "SENTINEL", "REPLICAS", this.masterName));
          const up = replicas.some(
            (r) => Number(r.port) === this.#replica.port && !/down|disconnected/.test(r.flags ?? ""),
          );
          const peers = records(await cli(sentinel, "SENTINEL", "SENTINELS", this.masterName));
          if (!up || peers.length < SENTINELS - 1) return undefined;
        }
        // Sentinels may see the replica before its first sync is done: WAIT counts only an online link.
        const replication = await cli(this.primary, "INFO", "replication");
        return /^slave0:.*state=online/m.test(replication) ? true : undefined;
      },
      timeoutMs,
      "the Sentinels to see the replica and each other, and the replica to be in sync",
      200,
    ).catch((error: unknown) => this.#explain(error));
  }

  /** Crashes the primary (SIGKILL). */
  async killPrimary(): Promise<void> {
    await this.#primary.stop();
  }

  /**
   * Until every Sentinel names the old replica as the primary and it answers ROLE as master; from then
   * on `primary` is that node and there is no replica. Resolves to the ms it took.
   */
  async whenPromoted(timeoutMs = 30_000): Promise<number> {
    const started = Date.now();
    const promoted = this.#replica;
    await until(
      async () => {
        for (const sentinel of this.sentinels) {
          const address = (await cli(sentinel, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", this.masterName)).split(
            "\n",
          );
          if (Number(address[1]) !== promoted.port) return undefined;
        }
        return (await cli(this.replica, "ROLE")).startsWith("master") ? true : undefined;
      },
      timeoutMs,
      `the Sentinels to promote the replica on port ${promoted.port}`,
      200,
    ).catch((error: unknown) => this.#explain(error));
    this.#primary = promoted;
    return Date.now() - started;
  }

  /** The end of every node's log, each under its name and port. */
  async logs(lines = 200): Promise<string> {
    const parts = await Promise.all(
      this.#nodeNames.map(async ({ name, port }) => {
        const text = await readFile(path.join(this.#dir, name, LOG_FILE), "utf8").catch(
          (error: Error) => `(no log: ${error.message})`,
        );
        return [`--- ${name} (port ${port}) ---`, ...text.trimEnd().split("\n").slice(-lines)].join("\n");
      }),
    );
    return parts.join("\n");
  }

  /** Throws `error` again with the nodes' logs appended: the why of a wait that timed out. */
  async #explain(error: unknown): Promise<never> {
    throw new Error(`${(error as Error).message}\n${await this.logs()}`, { cause: error });
  }

  /** Stops every process and removes the folder (its logs and configs) unless `keepFiles`. */
  async stop(keepFiles = false): Promise<void> {
    for (const node of new Set([...this.#sentinels, this.#primary, this.#replica])) {
      await bestEffort(node.stop(), harnessLog, `stopping the Redis node on port ${node.port}`);
    }
    if (!keepFiles) await rm(this.#dir, { recursive: true, force: true });
  }
}
