import { fileURLToPath } from "node:url";

/** infra/ of this repository. */
export const INFRA_DIR = fileURLToPath(new URL("..", import.meta.url));
export const REPO_DIR = fileURLToPath(new URL("../..", import.meta.url));

export const infraFile = (relative: string) => fileURLToPath(new URL(`../${relative}`, import.meta.url));

/** The built `wgp-farm` binary (turbo builds the CLI before these tests). */
export const CLI_BIN = fileURLToPath(new URL("../../apps/cli/bin/wgp-farm", import.meta.url));
