import type { Redis } from "ioredis";

/** What `INFO` says at one moment: calls and CPU per command, the server's CPU, its clients. */
export interface RedisReading {
  at: number;
  calls: Map<string, { calls: number; usec: number }>;
  cpuS: number;
  clients: number;
}

/** Commands the measuring itself sends (not the farm's work). */
const OWN_COMMANDS = new Set(["info"]);

export async function readRedis(redis: Redis): Promise<RedisReading> {
  const text = await redis.info("everything");
  const calls = new Map<string, { calls: number; usec: number }>();
  let cpuS = 0;
  let clients = 0;
  for (const line of text.split("\r\n")) {
    const stat = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (stat) calls.set(stat[1] as string, { calls: Number(stat[2]), usec: Number(stat[3]) });
    const cpu = /^used_cpu_(?:sys|user):([\d.]+)$/.exec(line);
    if (cpu) cpuS += Number(cpu[1]);
    const connected = /^connected_clients:(\d+)$/.exec(line);
    if (connected) clients = Number(connected[1]);
  }
  return { at: performance.now(), calls, cpuS, clients };
}

/** The farm's Redis work between two readings. */
export interface RedisDelta {
  seconds: number;
  calls: number;
  /** Redis CPU (user + sys of the server process), seconds. */
  cpuS: number;
  /** Time Redis spent in commands (commandstats usec), seconds. */
  commandS: number;
  byCommand: Record<string, number>;
}

export function redisDelta(before: RedisReading, after: RedisReading): RedisDelta {
  let calls = 0;
  let usec = 0;
  const byCommand: Record<string, number> = {};
  for (const [name, now] of after.calls) {
    if (OWN_COMMANDS.has(name)) continue;
    const was = before.calls.get(name) ?? { calls: 0, usec: 0 };
    const delta = now.calls - was.calls;
    if (delta === 0) continue;
    calls += delta;
    usec += now.usec - was.usec;
    byCommand[name] = delta;
  }
  return {
    seconds: (after.at - before.at) / 1000,
    calls,
    cpuS: after.cpuS - before.cpuS,
    commandS: usec / 1e6,
    byCommand,
  };
}
