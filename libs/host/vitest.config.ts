import { defineConfig } from "vitest/config";

// Host probes need no Redis, so no globalSetup here (unlike packageTestConfig).
export default defineConfig({
  test: { include: ["test/**/*.test.ts"], testTimeout: 30_000, pool: "forks" },
});
