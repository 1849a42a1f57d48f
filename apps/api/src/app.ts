import type { Logger } from "@wgp-farm/config";
import express, { type Express, Router } from "express";
import type { ApiTokenStore } from "./auth/api-token-store.js";
import { knownCaller } from "./auth/caller.js";
import { requireScope, requireToken } from "./auth/require-token.js";
import type { EventHub } from "./events/event-hub.js";
import { eventsRoute } from "./events/events-route.js";
import { cancelTaskRoute } from "./handlers/cancel-task.js";
import { getTask } from "./handlers/get-task.js";
import { getTaskFile } from "./handlers/get-task-file.js";
import type { HandlerContext } from "./handlers/handler-context.js";
import { healthRoute } from "./handlers/health.js";
import { listTasksRoute } from "./handlers/list-tasks.js";
import { openApiRoute } from "./handlers/openapi.js";
import { postprocessTaskRoute } from "./handlers/postprocess-task.js";
import { retryTaskRoute } from "./handlers/retry-task.js";
import { submitTasks } from "./handlers/submit-tasks.js";
import { uploadInput } from "./handlers/upload-input.js";
import { errorHandler, notFoundRoute } from "./http/error-handler.js";
import { jsonBody } from "./http/json-body.js";
import { requestLog } from "./http/request-log.js";
import { securityHeaders } from "./http/security-headers.js";
import { submitRate } from "./http/submit-rate.js";

export interface ApiAppParts extends HandlerContext {
  tokens: ApiTokenStore;
  hub: EventHub;
  maxBodyBytes: number;
  logger: Logger;
}

/**
 * The API's request pipeline, in the order that matters: headers and the log on everything; the
 * health check open; then the token (before any body is read), the scope, the submit rate, and only
 * then the body and the handler. One JSON error shape for every failure.
 */
export function createApiApp(parts: ApiAppParts): Express {
  const { farm, limits } = parts;
  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");
  app.use(securityHeaders());
  app.use(requestLog(parts.logger, (req) => knownCaller(req)?.token.id));
  app.get("/healthz", healthRoute(farm.redis));

  const v1 = Router();
  v1.use(requireToken(farm.redis, parts.tokens));
  v1.get("/openapi.json", openApiRoute());
  const rate = submitRate(farm.redis, limits);
  v1.post("/tasks", requireScope("submit"), rate, ...jsonBody(parts.maxBodyBytes), submitTasks(parts));
  v1.get("/tasks", requireScope("read"), listTasksRoute(parts));
  v1.get("/tasks/:id", requireScope("read"), getTask(parts));
  v1.delete("/tasks/:id", requireScope("cancel"), cancelTaskRoute(parts));
  v1.post("/tasks/:id/retry", requireScope("submit"), rate, retryTaskRoute(parts));
  v1.post(
    "/tasks/:id/postprocess",
    requireScope("submit"),
    rate,
    ...jsonBody(parts.maxBodyBytes),
    postprocessTaskRoute(parts),
  );
  v1.get("/tasks/:id/files/:name", requireScope("read"), getTaskFile(parts));
  v1.get("/events", requireScope("read"), eventsRoute(parts));
  v1.post("/inputs", requireScope("submit"), rate, uploadInput(parts));
  app.use("/v1", v1);

  app.use(notFoundRoute());
  app.use(errorHandler(parts.logger));
  return app;
}
