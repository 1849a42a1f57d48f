import { createLogger } from "@wgp-farm/config";
import { FarmConnection } from "@wgp-farm/queue";
import { uniquePrefix } from "@wgp-farm/testing";
import { inject } from "vitest";
import {
  type DashboardCredentials,
  type DashboardOptions,
  type RunningDashboard,
  startDashboard,
} from "../../src/index.js";

export const TEST_CREDENTIALS: DashboardCredentials = {
  username: "operator",
  password: "correct horse battery",
  token: "test-token-0123456789",
};

export function basicAuth(username: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` };
}

export const OPERATOR = basicAuth(TEST_CREDENTIALS.username, TEST_CREDENTIALS.password as string);

export interface TestDashboard {
  farm: FarmConnection;
  dashboard: RunningDashboard;
  /** The base URL without the trailing slash. */
  base: string;
  close(): Promise<void>;
}

/** A real dashboard on a free loopback port over the test Redis, with a key prefix of its own. */
export async function openTestDashboard(options: Partial<DashboardOptions> = {}): Promise<TestDashboard> {
  const redisUrl = inject("redisUrl");
  const prefix = uniquePrefix("dash");
  const farm = await FarmConnection.open(redisUrl, prefix);
  const dashboard = await startDashboard({
    redisUrl,
    prefix,
    port: 0,
    credentials: TEST_CREDENTIALS,
    logger: createLogger({ name: "dashboard", level: "silent" }),
    queueRefreshMs: 200,
    ...options,
  });
  return {
    farm,
    dashboard,
    base: dashboard.url.replace(/\/$/, ""),
    async close() {
      await dashboard.close();
      await farm.close();
    },
  };
}
