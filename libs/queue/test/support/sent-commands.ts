import type { Redis } from "ioredis";

/**
 * Watches (MONITOR, on a connection of its own) the commands `redis` itself sends, by name in lower
 * case; commands run inside its scripts are not among them.
 */
export async function watchSentCommands(redis: Redis): Promise<{ sent: string[]; stop(): void }> {
  const address = /addr=(\S+)/.exec(String(await redis.client("INFO")))?.[1];
  const monitor = await redis.duplicate().monitor();
  const sent: string[] = [];
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    if (source === address) sent.push(String(args[0]).toLowerCase());
  });
  return { sent, stop: () => monitor.disconnect() };
}
