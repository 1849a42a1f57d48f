import { createLogger } from "@wgp-farm/config";
import {
  CREDENTIAL_ENV,
  DEFAULT_DASHBOARD_HOST,
  DEFAULT_DASHBOARD_PORT,
  startDashboard,
} from "@wgp-farm/dashboard";
import { DEFAULT_PREFIX, DEFAULT_REDIS_URL } from "@wgp-farm/queue";
import type { Command } from "commander";
import { z } from "zod";
import { addOptions, REDIS_OPTIONS, settingsOf } from "../cli-options.js";
import { untilStopSignal } from "../stop-signal.js";

const DashboardSettings = z.object({
  redisUrl: z.string().default(DEFAULT_REDIS_URL),
  prefix: z.string().min(1).default(DEFAULT_PREFIX),
  host: z.string().min(1).default(DEFAULT_DASHBOARD_HOST),
  port: z.coerce.number().int().min(0).max(65_535).default(DEFAULT_DASHBOARD_PORT),
  readOnly: z
    .union([z.boolean(), z.string()])
    .transform((value) => value === true || value === "1" || value === "true")
    .default(false),
  trustProxy: z.coerce.number().int().min(0).max(10).default(0),
});

export function registerDashboard(program: Command): void {
  const command = program
    .command("dashboard")
    .description("serve Bull Board over every farm queue, the farm view, /healthz and /metrics");
  const specs = addOptions(command, [
    {
      flags: "--host <address>",
      description: "address to listen on; any but loopback needs credentials",
      env: "WGP_FARM_DASHBOARD_HOST",
      defaultText: DEFAULT_DASHBOARD_HOST,
    },
    {
      flags: "--port <port>",
      description: "port to listen on (0: any free port)",
      env: "WGP_FARM_DASHBOARD_PORT",
      defaultText: String(DEFAULT_DASHBOARD_PORT),
    },
    {
      flags: "--read-only",
      description: "turn every action off (retry, remove, clean, pause, cancel), server-side",
      env: "WGP_FARM_DASHBOARD_READ_ONLY",
    },
    {
      flags: "--trust-proxy <hops>",
      description:
        "reverse proxies in front whose X-Forwarded-* headers to trust (client address for the login throttle, Secure cookie over TLS)",
      env: "WGP_FARM_DASHBOARD_TRUST_PROXY",
      defaultText: "0",
    },
    ...REDIS_OPTIONS,
  ]);
  command.addHelpText(
    "after",
    `
Credentials (basic auth, the login form, or a bearer token for scripts and Prometheus):
  ${CREDENTIAL_ENV.password}          password (user ${CREDENTIAL_ENV.username}, default admin)
  ${CREDENTIAL_ENV.token}             access token (Authorization: Bearer <token>, or the login form)
  ${CREDENTIAL_ENV.file}  JSON file {"user": …, "password": …, "token": …}
Without credentials the dashboard serves loopback only, and refuses to start on another address.

Exit codes: 0 stopped by a signal, 2 usage, configuration or connection error.`,
  );
  command.action(async () => {
    const settings = settingsOf(DashboardSettings, specs, command);
    const logger = createLogger({ name: "dashboard" });
    const { trustProxy, ...rest } = settings;
    const dashboard = await startDashboard({
      ...rest,
      trustProxy: trustProxy > 0 ? trustProxy : false,
      logger,
    });
    process.stdout.write(`Dashboard: ${dashboard.url} (Ctrl+C stops)\n`);
    await untilStopSignal();
    await dashboard.close();
    logger.info("stopped");
  });
}
