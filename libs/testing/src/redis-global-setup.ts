import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { RedisServerProcess } from "@wgp-farm/queue";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** URL of the redis-server started for this test run. */
    redisUrl: string;
  }
}

/**
 * vitest globalSetup: one real redis-server per test run, on a free loopback port, with its files in
 * a temporary folder. Tests isolate themselves with their own key prefix (`uniquePrefix`).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "wgp-farm-test-redis-"));
  const server = await RedisServerProcess.start({ dataDir, persistence: "none" });
  project.provide("redisUrl", server.url);
  return async () => {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
