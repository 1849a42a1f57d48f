import { fileURLToPath } from "node:url";
import type { Logger } from "@wgp-farm/config";
import type { FarmConnection } from "@wgp-farm/queue";
import type { BucketResults } from "@wgp-farm/storage";
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import { Authenticator } from "./auth/authenticator.js";
import type { DashboardCredentials } from "./auth/credentials.js";
import { loginRoutes } from "./auth/login-routes.js";
import { LoginThrottle, type LoginThrottleOptions } from "./auth/login-throttle.js";
import { requireAuth } from "./auth/require-auth.js";
import { SessionTokens } from "./auth/session-tokens.js";
import type { QueueBoard } from "./board/queue-board.js";
import { chartsRoutes } from "./charts/charts-routes.js";
import { farmViewRoutes } from "./farm-view/farm-view-routes.js";
import { healthRoute } from "./health/health-route.js";
import type { MetricsRoute } from "./metrics/metrics-route.js";
import { RESULT_FILES_PATH, resultFileRoute } from "./result-files/result-file-route.js";
import { ResultMedia } from "./results/result-media.js";
import { resultsRoutes } from "./results/results-routes.js";
import { searchRoutes } from "./search/search-routes.js";
import { loopbackHostGuard } from "./security/host-guard.js";
import { readOnlyGuard } from "./security/read-only-guard.js";
import { sameOriginGuard } from "./security/same-origin-guard.js";
import { securityHeaders } from "./security/security-headers.js";
import { timelineRoutes } from "./timeline/timeline-routes.js";
import { webhooksViewRoutes } from "./webhooks-view/webhooks-view-routes.js";

const ASSETS_DIR = fileURLToPath(new URL("../assets/", import.meta.url));
export const QUEUES_PATH = "/queues";

export interface DashboardAppParts {
  farm: FarmConnection;
  board: QueueBoard;
  metrics: MetricsRoute;
  credentials: DashboardCredentials | null;
  readOnly: boolean;
  loginThrottle: LoginThrottleOptions;
  sessionTtlMs: number;
  /** Express's `trust proxy` (only behind a reverse proxy that sets X-Forwarded-*). */
  trustProxy: boolean | string | number;
  /** Results kept in a bucket, linked from the board; absent: none are. */
  storedResults?: { results: BucketResults; linkTtlMs: number } | undefined;
  logger: Logger;
  /** The farm's main output dir, for the results grid's media (absent: no media served). */
  mainOutputDir?: string | undefined;
}

/**
 * The dashboard's request pipeline, in the order that matters: security headers on everything; the
 * health check and static assets open; cross-site writes refused before anything acts on them
 * (login included); then authentication, read-only mode, and the pages and APIs behind them.
 */
export function createDashboardApp(parts: DashboardAppParts): Express {
  const { farm, board, credentials, readOnly, logger } = parts;
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", parts.trustProxy);
  const throttle = new LoginThrottle(parts.loginThrottle);
  const authenticator = new Authenticator(credentials, new SessionTokens(parts.sessionTtlMs));

  app.use(securityHeaders());
  if (!authenticator.required) app.use(loopbackHostGuard());
  app.get("/healthz", healthRoute(farm));
  app.use("/assets", express.static(ASSETS_DIR, { index: false, maxAge: "1h" }));
  // Browsers ask for it on every page, the login page included: answer without a 401 or a 404.
  app.get("/favicon.ico", (_req: Request, res: Response) => res.status(204).end());
  app.use(sameOriginGuard());
  app.use(loginRoutes(authenticator, credentials, throttle));
  app.use(requireAuth(authenticator, throttle));
  if (readOnly) app.use(readOnlyGuard());

  app.get("/", (_req: Request, res: Response) => res.redirect(303, QUEUES_PATH));
  app.get("/metrics", parts.metrics.handler);
  if (parts.storedResults) {
    app.get(RESULT_FILES_PATH, resultFileRoute(parts.storedResults.results, parts.storedResults.linkTtlMs));
  }
  const media = new ResultMedia(farm, parts.mainOutputDir);
  app.use(farmViewRoutes({ farm, readOnly, boardUrlOf: (name) => board.urlOf(name), media, logger }));
  app.use(resultsRoutes(farm, media), timelineRoutes(farm), chartsRoutes(farm));
  app.use(searchRoutes(farm, logger));
  app.use(QUEUES_PATH, board.router);
  app.use(webhooksViewRoutes({ farm, readOnly }));

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: "not found" });
  });
  app.use((error: Error, req: Request, res: Response, _next: NextFunction) => {
    logger.error({ err: error, path: req.path }, "request failed");
    if (!res.headersSent) res.status(500).json({ error: "internal error" });
  });
  return app;
}
