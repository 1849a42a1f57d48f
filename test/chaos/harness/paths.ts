import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** The real `wgp-farm` binary (the built CLI on Node 24). */
export const WGP_FARM_BIN = fileURLToPath(new URL("../../../apps/cli/bin/wgp-farm", import.meta.url));
/** The WanGP test double (a fixture shaped like WanGP, not WanGP). */
export const FAKE_WANGP = fileURLToPath(new URL("../../fixtures/fake-wangp", import.meta.url));
/** Where `npm run chaos` writes its report. */
export const REPORT_MD = fileURLToPath(new URL("../../../docs/RELIABILITY.md", import.meta.url));
export const REPORT_JSON = fileURLToPath(new URL("../../../docs/reliability.json", import.meta.url));
