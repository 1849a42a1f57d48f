import { fileURLToPath } from "node:url";
import { mergeConfig } from "vitest/config";
import { packageTestConfig } from "../../vitest.shared.ts";

// Tests (and the shared fixtures of @wgp-farm/testing they use) run this package's sources, not its
// last build: the name resolves to src/ here, so a change is tested without building first.
export default mergeConfig(packageTestConfig(), {
  resolve: { alias: { "@wgp-farm/queue": fileURLToPath(new URL("./src/index.ts", import.meta.url)) } },
});
