import { findFreePort } from "@wgp-farm/queue";
import { uniquePrefix } from "@wgp-farm/testing";
import { describe, expect, inject, it } from "vitest";
import { exitOf, runCli, startCli } from "./run-cli.js";

describe("wgp-farm dashboard", () => {
  it("documents its options with their environment variables and the credential variables", async () => {
    const help = await runCli(["dashboard", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--host <address>");
    expect(help.stdout).toMatch(/default:\s+3000,\s+env:\s+WGP_FARM_DASHBOARD_PORT/);
    expect(help.stdout).toContain("--read-only");
    expect(help.stdout).toContain("WGP_FARM_DASHBOARD_PASSWORD");
    expect(help.stdout).toContain("WGP_FARM_DASHBOARD_TOKEN");
    expect(help.stdout).toContain("WGP_FARM_DASHBOARD_CREDENTIALS_FILE");
  });

  it("refuses to listen on a public address without credentials (exit 2)", async () => {
    const refused = await runCli(
      ["dashboard", "--host", "0.0.0.0", "--port", "0", "--redis-url", inject("redisUrl")],
      {
        env: {
          WGP_FARM_DASHBOARD_PASSWORD: "",
          WGP_FARM_DASHBOARD_TOKEN: "",
          WGP_FARM_DASHBOARD_CREDENTIALS_FILE: "",
        },
      },
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("refusing to serve the dashboard on 0.0.0.0 without credentials");
  });

  it("serves until SIGTERM, read-only when asked, with credentials from the environment", async () => {
    const port = await findFreePort();
    const child = startCli(
      [
        "dashboard",
        "--port",
        String(port),
        "--read-only",
        "--redis-url",
        inject("redisUrl"),
        "--prefix",
        uniquePrefix("cli-dash"),
      ],
      { env: { WGP_FARM_DASHBOARD_PASSWORD: "from the environment", WGP_FARM_LOG_LEVEL: "warn" } },
    );
    const exited = exitOf(child);
    let stdout = "";
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes("Dashboard: ")) resolve();
      });
      void exited.then(() => reject(new Error(`dashboard exited early: ${stdout}`)));
    });
    expect(stdout).toContain(`Dashboard: http://127.0.0.1:${port}/`);
    const base = `http://127.0.0.1:${port}`;
    const auth = { Authorization: `Basic ${Buffer.from("admin:from the environment").toString("base64")}` };
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/farm/api/status`)).status).toBe(401);
    expect((await fetch(`${base}/farm/api/status`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${base}/queues/api/queues/pause`, { method: "PUT", headers: auth })).status).toBe(
      405,
    );
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});
