import { readFile } from "node:fs/promises";
import { WORKER_DEFAULTS } from "@wgp-farm/worker";
import { describe, expect, it } from "vitest";
import { renderCliReference } from "../src/cli-reference.js";
import { buildProgram } from "../src/program.js";
import { cliReferenceOf } from "../src/readme-section.js";

describe("the README's CLI reference", () => {
  it("documents every command and option as the CLI defines them (npm run docs:cli updates it)", async () => {
    const readme = await readFile(new URL("../../../README.md", import.meta.url), "utf8");
    expect(cliReferenceOf(readme)).toBe(renderCliReference(buildProgram()));
  });

  it("gives every option that reads the environment its variable", () => {
    const reference = renderCliReference(buildProgram());
    expect(reference).toContain("| `--redis-url <url>` | `REDIS_URL` | redis://127.0.0.1:6379 |");
    expect(reference).toContain("### `wgp-farm headless`");
  });

  it("shows the worker's defaults as the worker applies them, in the unit each flag is typed in", () => {
    const reference = renderCliReference(buildProgram());
    const row = (flags: string, env: string, value: string | number) =>
      `| \`${flags}\` | \`${env}\` | ${value} |`;
    expect(reference).toContain(
      row("--drain-timeout <s>", "WGP_FARM_DRAIN_TIMEOUT", WORKER_DEFAULTS.drainTimeoutMs / 1000),
    );
    expect(reference).toContain(
      row("--dry-run-duration <s>", "WGP_FARM_DRY_RUN_DURATION", WORKER_DEFAULTS.dryRunDurationS),
    );
    expect(reference).toContain(
      row("--lock-duration-ms <ms>", "WGP_FARM_LOCK_DURATION_MS", WORKER_DEFAULTS.lockDurationMs),
    );
    expect(reference).toContain(row("--main-output-dir <dir>", "WGP_FARM_MAIN_OUTPUT_DIR", "required"));
  });
});
