import type { Logger } from "@wgp-farm/config";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { ApiError } from "../errors.js";
import { apiErrorOfBodyParser } from "./json-body.js";

export function notFoundRoute(): RequestHandler {
  return (req: Request) => {
    throw new ApiError(404, "not_found", `no route ${req.method} ${req.path}; see GET /v1/openapi.json`);
  };
}

/** Every failure leaves in the one error shape; anything unexpected is logged and is a 500. */
export function errorHandler(logger: Logger) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const known = error instanceof ApiError ? error : apiErrorOfBodyParser(error);
    if (!known) logger.error({ err: error, method: req.method, path: req.path }, "request failed");
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const answer =
      known ?? new ApiError(500, "internal_error", "the API failed on this request; its log says why");
    res.status(answer.status).set(answer.headers).json(answer.toBody());
  };
}
