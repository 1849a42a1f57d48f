/**
 * The chaos harness's own log (stderr): what its best-effort steps could not do. Quiet at the default
 * level; `WGP_FARM_LOG_LEVEL=debug` shows each skipped cleanup.
 */
import { createLogger } from "@wgp-farm/config";

export const harnessLog = createLogger({ name: "chaos-harness" });
