import { readFile, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { RedisServerProcess } from "@wgp-farm/queue";

/** The Redis a one-machine farm uses: REDIS_URL's, or a private redis-server it starts itself. */
export interface LocalRedis {
  url: string;
  /** True when this process started it (and stops it). */
  private: boolean;
  stop(): Promise<void>;
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/**
 * Starts the private Redis of `headless` and `demo`: AOF (fsync every second) in `dataDir`, so a
 * restart resumes with every queued task; the same port as last time when it is free, so a
 * `REDIS_URL` printed earlier stays right.
 */
export async function startLocalRedis(dataDir: string, redisUrl: string | undefined): Promise<LocalRedis> {
  if (redisUrl) return { url: redisUrl, private: false, stop: async () => {} };
  const portFile = path.join(dataDir, "port");
  const remembered = Number(await readFile(portFile, "utf8").catch(() => ""));
  const port =
    Number.isInteger(remembered) && remembered > 0 && (await portIsFree(remembered)) ? remembered : undefined;
  const server = await RedisServerProcess.start({ dataDir, persistence: "aof", ...(port ? { port } : {}) });
  await writeFile(portFile, `${server.port}\n`);
  return { url: server.url, private: true, stop: () => server.stop() };
}
