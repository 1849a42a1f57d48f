import { defineConfig } from "vitest/config";

// These checks start their own processes (redis-server, systemd-analyze, dclint); no shared Redis.
export default defineConfig({
  test: { include: ["test/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 60_000, pool: "forks" },
});
