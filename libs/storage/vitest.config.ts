import { defineConfig } from "vitest/config";

// No Redis here: the tests start their own S3 server (src/test-server).
export default defineConfig({
  test: { include: ["test/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 30_000, pool: "forks" },
});
