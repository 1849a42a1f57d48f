import { execFile } from "node:child_process";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { temporaryDir } from "@wgp-farm/testing";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { INFRA_DIR, infraFile } from "./infra-files.js";

const DCLINT = fileURLToPath(new URL("../../node_modules/dclint/bin/dclint.cjs", import.meta.url));

interface LintMessage {
  rule: string;
  type: string;
  message: string;
}

/**
 * dclint validates against the Compose Specification's JSON schema before its best-practice rules
 * (configured by infra/.dclintrc.yaml). dclint 3.1.0 ships it as schemas/compose.schema.json:
 * compose-spec/compose-spec's schema/compose-spec.json as of commit 58a2548 (2025-07-21), unchanged.
 */
async function dclint(file: string, cwd: string): Promise<LintMessage[]> {
  const run = await promisify(execFile)(process.execPath, [DCLINT, file, "--formatter", "json"], {
    cwd,
  }).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
  const results = JSON.parse(run.stdout) as { messages: LintMessage[] }[];
  return results.flatMap((result) => result.messages);
}

interface ComposeService {
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  deploy?: { resources?: { reservations?: { devices?: { capabilities: string[]; count: unknown }[] } } };
  stop_signal?: string;
  stop_grace_period?: string;
  profiles?: string[];
}

describe("infra/compose.yaml", () => {
  it("is valid Compose (compose-spec schema) and passes dclint without a warning", async () => {
    expect(await dclint("compose.yaml", INFRA_DIR)).toEqual([]);
  });

  it("is rejected by the same check when it breaks the schema", async () => {
    const work = await temporaryDir("compose");
    try {
      const broken = path.join(work.dir, "compose.yaml");
      const text = await readFile(infraFile("compose.yaml"), "utf8");
      await writeFile(broken, text.replace("capabilities: [gpu]", "capabilities: gpu"));
      await copyFile(infraFile(".dclintrc.yaml"), path.join(work.dir, ".dclintrc.yaml"));
      const messages = await dclint("compose.yaml", work.dir);
      expect(messages.map((m) => m.rule)).toContain("invalid-schema");
      expect(messages.find((m) => m.rule === "invalid-schema")?.message).toContain("capabilities");
    } finally {
      await work.remove();
    }
  });

  it("runs a drainable GPU worker with the farm's Redis, volumes and shared outputs", async () => {
    const compose = parse(await readFile(infraFile("compose.yaml"), "utf8"), { merge: true }) as {
      services: Record<string, ComposeService>;
    };
    const worker = compose.services.worker as ComposeService;
    expect(worker.command?.slice(0, 5)).toEqual([
      "worker",
      "--wangp-root",
      "/opt/Wan2GP",
      "--main-output-dir",
      "/data/outputs",
    ]);
    expect(worker.environment?.REDIS_URL).toMatch(/^redis:\/\/:\$\{REDIS_PASSWORD/);
    expect(worker.deploy?.resources?.reservations?.devices?.[0]?.capabilities).toEqual(["gpu"]);
    expect(worker.volumes).toEqual(
      expect.arrayContaining([
        "wangp-models:/opt/Wan2GP/ckpts",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose interpolation, not a JS template
        "${WGP_FARM_OUTPUT_DIR:-./outputs}:/data/outputs",
      ]),
    );
    expect(worker.stop_signal).toBe("SIGTERM");
    expect(worker.stop_grace_period).toMatch(/20m/);
    const redis = compose.services.redis as ComposeService;
    expect(redis.volumes).toContain("./redis/redis.conf:/usr/local/etc/redis/redis.conf:ro");
    expect(compose.services.prefetch?.command?.[0]).toBe("prefetch");
    expect(compose.services.dashboard?.profiles).toEqual(["control"]);
  });
});
