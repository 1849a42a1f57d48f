import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CLI_BIN, infraFile } from "./infra-files.js";
import { parseEnvFile, parseUnitFile } from "./unit-file.js";

/** Variables only Compose itself reads (interpolation in compose.yaml), or the logger. */
const NOT_CLI_OPTIONS = new Set([
  "WGP_FARM_OUTPUT_DIR",
  "WGP_FARM_STOP_GRACE",
  "WGP_FARM_IMAGE_TAG",
  "WGP_FARM_LOG_FORMAT",
]);

const helpCache = new Map<string, string>();
async function help(command: string): Promise<string> {
  const cached = helpCache.get(command);
  if (cached !== undefined) return cached;
  const { stdout } = await promisify(execFile)(CLI_BIN, [command, "--help"]);
  helpCache.set(command, stdout);
  return stdout;
}

/** `wgp-farm <command> --flag …` as the deployment files run it. */
interface Invocation {
  where: string;
  command: string;
  flags: string[];
}

function invocation(where: string, argv: readonly string[]): Invocation {
  return { where, command: argv[0] ?? "", flags: argv.filter((arg) => arg.startsWith("--")) };
}

const invocations: Invocation[] = [];
const envFiles: Map<string, string>[] = [];
beforeAll(async () => {
  const compose = parse(await readFile(infraFile("compose.yaml"), "utf8"), { merge: true }) as {
    services: Record<string, { command?: string[]; image?: string }>;
  };
  for (const [name, service] of Object.entries(compose.services)) {
    if (service.image?.startsWith("wgp-farm") && service.command) {
      invocations.push(invocation(`compose ${name}`, service.command));
    }
  }
  for (const unit of ["wgp-farm-worker.service", "wgp-farm-prefetch.service", "wgp-farm-dashboard.service"]) {
    const parsed = parseUnitFile(await readFile(infraFile(`systemd/${unit}`), "utf8"));
    for (const exec of parsed.get("Service")?.get("ExecStart") ?? []) {
      invocations.push(invocation(unit, exec.split(/\s+/).slice(1)));
    }
  }
  for (const file of ["farm.env.example", "systemd/wgp-farm.env.example"]) {
    envFiles.push(parseEnvFile(await readFile(infraFile(file), "utf8")));
  }
});

describe("deployment files and the wgp-farm CLI agree", () => {
  it("run commands and flags the CLI has", async () => {
    expect(invocations.map((i) => i.command).sort()).toEqual(
      expect.arrayContaining(["dashboard", "prefetch", "worker"]),
    );
    for (const { where, command, flags } of invocations) {
      const text = await help(command);
      for (const flag of flags)
        expect(text, `${where}: ${command} ${flag}`).toMatch(new RegExp(`${flag}\\b`));
    }
  });

  it("set only WGP_FARM_* variables some command documents", async () => {
    const documented = (
      await Promise.all(["worker", "dashboard", "prefetch", "doctor", "import-tasks"].map(help))
    ).join("\n");
    const variables = new Set(
      envFiles.flatMap((env) => [...env.keys()]).filter((v) => v.startsWith("WGP_FARM_")),
    );
    expect(variables.size).toBeGreaterThan(5);
    for (const variable of variables) {
      if (NOT_CLI_OPTIONS.has(variable)) continue;
      expect(documented, variable).toContain(variable);
    }
  });
});
