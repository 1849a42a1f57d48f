import { addOptions, createLogger, option, switchOption } from "@wgp-farm/config";
import {
  CREDENTIAL_ENV,
  DEFAULT_DASHBOARD_HOST,
  DEFAULT_DASHBOARD_PORT,
  startDashboard,
} from "@wgp-farm/dashboard";
import type { Command } from "commander";
import { z } from "zod";
import { MAIN_OUTPUT_DIR, REDIS_OPTIONS } from "../cli-options.js";
import { RESULT_LINK_OPTIONS } from "../output/result-links.js";
import { untilStopSignal } from "../stop-signal.js";

const DASHBOARD_OPTIONS = {
  host: option({
    flag: "--host",
    takes: "address",
    env: "WGP_FARM_DASHBOARD_HOST",
    description: "address to listen on; any but loopback needs credentials",
    schema: z.string().min(1),
    default: DEFAULT_DASHBOARD_HOST,
  }),
  port: option({
    flag: "--port",
    takes: "port",
    env: "WGP_FARM_DASHBOARD_PORT",
    description: "port to listen on (0: any free port)",
    schema: z.coerce.number().int().min(0).max(65_535),
    default: DEFAULT_DASHBOARD_PORT,
  }),
  readOnly: switchOption({
    flag: "--read-only",
    env: "WGP_FARM_DASHBOARD_READ_ONLY",
    description: "turn every action off (retry, remove, clean, pause, cancel), server-side",
  }),
  trustProxy: option({
    flag: "--trust-proxy",
    takes: "hops",
    env: "WGP_FARM_DASHBOARD_TRUST_PROXY",
    description:
      "reverse proxies in front whose X-Forwarded-* headers to trust (client address for the login throttle, Secure cookie over TLS)",
    schema: z.coerce.number().int().min(0).max(10),
    default: 0,
  }),
  mainOutputDir: option({
    flag: MAIN_OUTPUT_DIR.flag,
    takes: "dir",
    env: MAIN_OUTPUT_DIR.env,
    description:
      "the farm's main output dir, to play results and their previews (absent: the grid shows no media)",
    schema: z.string().min(1),
  }),
  ...REDIS_OPTIONS,
  ...RESULT_LINK_OPTIONS,
};

export function registerDashboard(program: Command): void {
  const command = program
    .command("dashboard")
    .description("serve Bull Board over every farm queue, the farm view, /healthz and /metrics");
  const readOptions = addOptions(command, DASHBOARD_OPTIONS);
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
    const settings = readOptions();
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
