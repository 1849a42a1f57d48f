import { readFile } from "node:fs/promises";
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
});
