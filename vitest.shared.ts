import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * Settings every package's vitest.config.ts starts from: a real redis-server for the run (see
 * libs/testing), generous timeouts for tests that spawn processes, and tests under test/.
 */
export function packageTestConfig(options: { include?: string[]; testTimeout?: number } = {}) {
  return defineConfig({
    test: {
      include: options.include ?? ["test/**/*.test.ts"],
      globalSetup: [fileURLToPath(new URL("./libs/testing/src/redis-global-setup.ts", import.meta.url))],
      testTimeout: options.testTimeout ?? 30_000,
      hookTimeout: 30_000,
      pool: "forks",
    },
  });
}
