import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ConfigError, createLogger, type Logger } from "@wgp-farm/config";
import { DEFAULT_PREFIX, FarmConnection } from "@wgp-farm/queue";
import { BucketResults, DEFAULT_LINK_TTL_MS, type S3Settings } from "@wgp-farm/storage";
import { createDashboardApp, QUEUES_PATH } from "./app.js";
import { CREDENTIAL_ENV, credentialsFromEnvironment, type DashboardCredentials } from "./auth/credentials.js";
import { DEFAULT_LOGIN_THROTTLE, type LoginThrottleOptions } from "./auth/login-throttle.js";
import { QueueBoard } from "./board/queue-board.js";
import { QueueSampler } from "./charts/queue-sampler.js";
import { MetricsRoute } from "./metrics/metrics-route.js";
import { isLoopbackAddress } from "./security/host-guard.js";

export const DEFAULT_DASHBOARD_HOST = "127.0.0.1";
export const DEFAULT_DASHBOARD_PORT = 3000;

export interface DashboardOptions {
  redisUrl: string;
  /** Key prefix of the farm (default `wgp`). */
  prefix?: string;
  /** Address to listen on (default 127.0.0.1). Any other than loopback needs credentials. */
  host?: string;
  /** Port (default 3000; 0 picks a free one). */
  port?: number;
  /** Turn every action off, server-side: the dashboard only shows. */
  readOnly?: boolean;
  /**
   * Who may log in. Absent: read from the environment (`credentialsFromEnvironment`); null: none
   * (allowed on loopback only).
   */
  credentials?: DashboardCredentials | null;
  /** How often to look for model queues created after start (default 5 s). */
  queueRefreshMs?: number;
  loginThrottle?: LoginThrottleOptions;
  /** Lifetime of a login session (default 12 h). */
  sessionTtlMs?: number;
  /** Express's `trust proxy` setting, for a reverse proxy in front (default false). */
  trustProxy?: boolean | string | number;
  /** `s3://bucket/prefix`: results kept there get links on the board (settings: the s3* options). */
  outputStore?: string | undefined;
  s3Endpoint?: string | undefined;
  s3Region?: string;
  s3PathStyle?: boolean;
  s3Profile?: string | undefined;
  s3LinkTtlMs?: number;
  logger?: Logger;
  /** The farm's main output dir, to serve results and their previews (absent: the grid shows no media). */
  mainOutputDir?: string | undefined;
  /** How often to sample the queues for the charts (default one minute). */
  queueSampleMs?: number;
}

export interface RunningDashboard {
  /** Where the dashboard answers, e.g. `http://127.0.0.1:3000/`. */
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

function storeSettingsOf(options: DashboardOptions): S3Settings {
  return {
    s3Endpoint: options.s3Endpoint,
    s3Region: options.s3Region ?? "us-east-1",
    s3PathStyle: options.s3PathStyle ?? false,
    s3Profile: options.s3Profile,
  };
}

function refuseOpenPublicBind(host: string, credentials: DashboardCredentials | null): void {
  if (credentials || isLoopbackAddress(host)) return;
  throw new ConfigError(
    `refusing to serve the dashboard on ${host} without credentials: anyone who reaches it could ` +
      `retry, remove and cancel tasks. Set ${CREDENTIAL_ENV.password} or ${CREDENTIAL_ENV.token} ` +
      `(or ${CREDENTIAL_ENV.file}), or listen on 127.0.0.1.`,
  );
}

function urlOf(host: string, port: number): string {
  const shown = host.includes(":") ? `[${host}]` : host;
  return `http://${shown}:${port}/`;
}

async function listen(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/**
 * Starts the dashboard: Bull Board over every farm queue, the farm view, /healthz and /metrics,
 * behind authentication. Used by `wgp-farm dashboard`, and in-process by `headless` and `demo`.
 */
export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const host = options.host ?? DEFAULT_DASHBOARD_HOST;
  const credentials = options.credentials === undefined ? credentialsFromEnvironment() : options.credentials;
  refuseOpenPublicBind(host, credentials);
  const logger = options.logger ?? createLogger({ name: "dashboard" });
  const readOnly = options.readOnly ?? false;
  const farm = await FarmConnection.open(options.redisUrl, options.prefix ?? DEFAULT_PREFIX, {
    role: "service",
    connectionName: "wgp-farm:dashboard",
    logger,
  });
  let refreshTimer: NodeJS.Timeout | undefined;
  let storedResults: BucketResults | undefined;
  let server: Server | undefined;
  let sampler: QueueSampler | undefined;
  try {
    const board = await QueueBoard.create({
      farm,
      basePath: QUEUES_PATH,
      readOnly,
      uiConfig: {
        boardTitle: "wgp-farm",
        miscLinks: [
          { text: "Farm view", url: "/farm" },
          ...(credentials ? [{ text: "Log out", url: "/logout" }] : []),
        ],
        ...(readOnly ? { environment: { label: "read-only", color: "#8a5a00" } } : {}),
        overview: { groupByDelimiter: true },
        showWorkers: true,
        jobDetails: { defaultTab: "Progress" },
      },
    });
    const metrics = new MetricsRoute(farm);
    storedResults = options.outputStore
      ? new BucketResults(storeSettingsOf(options), { within: options.outputStore, logger })
      : undefined;
    const app = createDashboardApp({
      farm,
      board,
      metrics,
      credentials,
      readOnly,
      loginThrottle: options.loginThrottle ?? DEFAULT_LOGIN_THROTTLE,
      sessionTtlMs: options.sessionTtlMs ?? 12 * 3_600_000,
      trustProxy: options.trustProxy ?? false,
      storedResults: storedResults && {
        results: storedResults,
        linkTtlMs: options.s3LinkTtlMs ?? DEFAULT_LINK_TTL_MS,
      },
      logger,
      mainOutputDir: options.mainOutputDir,
    });
    sampler = new QueueSampler(farm, logger, options.queueSampleMs);
    refreshTimer = setInterval(() => {
      board.refresh().then(
        (added) => {
          if (added.length > 0) logger.info({ queues: added }, "new queues on the board");
        },
        (error: unknown) => logger.warn({ err: error }, "cannot list the model queues"),
      );
    }, options.queueRefreshMs ?? 5000);
    refreshTimer.unref();
    metrics.warmUp().catch((error: unknown) => logger.warn({ err: error }, "cannot read completed jobs"));
    server = createServer(app);
    const port = await listen(server, host, options.port ?? DEFAULT_DASHBOARD_PORT);
    const url = urlOf(host, port);
    logger.info(
      { url, read_only: readOnly, auth: credentials ? "required" : "none (loopback only)" },
      "dashboard listening",
    );
    const running = server;
    return {
      url,
      host,
      port,
      async close() {
        clearInterval(refreshTimer);
        await sampler?.stop();
        running.closeAllConnections();
        await new Promise<void>((resolve) => running.close(() => resolve()));
        await farm.close();
        storedResults?.close();
      },
    };
  } catch (error) {
    storedResults?.close();
    clearInterval(refreshTimer);
    await sampler?.stop();
    server?.close();
    await farm.close();
    throw error;
  }
}
