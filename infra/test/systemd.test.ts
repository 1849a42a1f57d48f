import { execFile } from "node:child_process";
import { chmod, cp, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { findExecutable } from "@wgp-farm/host";
import { temporaryDir } from "@wgp-farm/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { infraFile } from "./infra-files.js";
import { parseEnvFile, parseUnitFile, timeSpanSeconds, type UnitFile, unitValue } from "./unit-file.js";

const UNITS = ["wgp-farm-worker.service", "wgp-farm-prefetch.service", "wgp-farm-dashboard.service"];
const SYSTEM_UNITS = "/usr/lib/systemd/system";

const analyze = await findExecutable("systemd-analyze");

/**
 * systemd-analyze verify checks unit files offline (no running systemd needed), but it resolves
 * dependencies and requires every ExecStart= program to exist. So it runs against a scratch root:
 * the system's own units, ours, and an executable standing where the CLI is installed.
 */
async function verify(units: Record<string, string>): Promise<{ code: number; output: string }> {
  const root = await temporaryDir("systemd-root");
  try {
    await cp(SYSTEM_UNITS, path.join(root.dir, SYSTEM_UNITS), { recursive: true });
    const own = path.join(root.dir, "etc/systemd/system");
    await mkdir(own, { recursive: true });
    for (const [name, text] of Object.entries(units)) await writeFile(path.join(own, name), text);
    const cli = path.join(root.dir, "opt/wgp-farm/apps/cli/bin/wgp-farm");
    await mkdir(path.dirname(cli), { recursive: true });
    await writeFile(cli, "#!/bin/sh\n");
    await chmod(cli, 0o755);
    const args = ["verify", `--root=${root.dir}`, "--man=no", "--generators=no", ...Object.keys(units)];
    // Without a terminal, systemd tools log to the journal: ask for the console.
    const options = { env: { ...process.env, SYSTEMD_LOG_TARGET: "console", SYSTEMD_LOG_COLOR: "0" } };
    return await promisify(execFile)(analyze as string, args, options).then(
      (run) => ({ code: 0, output: `${run.stdout}${run.stderr}` }),
      (error: { code: number; stdout: string; stderr: string }) => ({
        code: error.code,
        output: `${error.stdout}${error.stderr}`,
      }),
    );
  } finally {
    await root.remove();
  }
}

const units = new Map<string, { text: string; unit: UnitFile }>();
let env: Map<string, string>;
beforeAll(async () => {
  for (const name of UNITS) {
    const text = await readFile(infraFile(`systemd/${name}`), "utf8");
    units.set(name, { text, unit: parseUnitFile(text) });
  }
  env = parseEnvFile(await readFile(infraFile("systemd/wgp-farm.env.example"), "utf8"));
});
const unitOf = (name: string) => units.get(name)?.unit as UnitFile;

describe("infra/systemd", () => {
  it("has systemd-analyze where CI runs (Debian package systemd)", () => {
    if (process.env.CI) expect(analyze, "install the Debian package systemd in .ci/run").toBeDefined();
    else expect(analyze === undefined || analyze.endsWith("systemd-analyze")).toBe(true);
  });

  it.runIf(analyze)("units pass systemd-analyze verify without a single warning", async () => {
    const result = await verify(Object.fromEntries([...units].map(([name, { text }]) => [name, text])));
    expect(result.output.trim()).toBe("");
    expect(result.code).toBe(0);
  });

  it.runIf(analyze)("the same check reports a broken unit", async () => {
    const text = units.get("wgp-farm-worker.service")?.text ?? "";
    const result = await verify({
      "wgp-farm-worker.service": text.replace("\nKillMode=mixed", "\nKilMode=mixed"),
    });
    expect(result.output).toContain("Unknown key 'KilMode'");
  });

  it("lets the worker drain on stop: SIGTERM to the worker only, for longer than the drain timeout", () => {
    const worker = unitOf("wgp-farm-worker.service");
    expect(unitValue(worker, "Service", "KillSignal")).toBe("SIGTERM");
    expect(unitValue(worker, "Service", "KillMode")).toBe("mixed");
    expect(unitValue(worker, "Service", "Restart")).toBe("on-failure");
    const stop = timeSpanSeconds(unitValue(worker, "Service", "TimeoutStopSec") ?? "0");
    const drain = timeSpanSeconds(env.get("WGP_FARM_DRAIN_TIMEOUT") ?? "");
    expect(stop).toBeGreaterThanOrEqual(drain + 60);
  });

  it("uses only settings the environment file example defines, and its output mount", () => {
    for (const [name, { unit }] of units) {
      expect(unitValue(unit, "Service", "EnvironmentFile"), name).toBe("/etc/wgp-farm/wgp-farm.env");
      for (const exec of unit.get("Service")?.get("ExecStart") ?? []) {
        for (const [, variable] of exec.matchAll(/\$\{(\w+)\}/g))
          expect(env.has(variable as string), `${name}: ${variable}`).toBe(true);
      }
    }
    const worker = unitOf("wgp-farm-worker.service");
    expect(unitValue(worker, "Unit", "RequiresMountsFor")).toBe(env.get("WGP_FARM_MAIN_OUTPUT_DIR"));
    expect(unitValue(worker, "Unit", "Wants")).toContain("wgp-farm-prefetch.service");
    expect(unitValue(unitOf("wgp-farm-prefetch.service"), "Service", "Type")).toBe("oneshot");
    expect(env.get("REDIS_URL")).toContain("CHANGE-ME");
  });
});
