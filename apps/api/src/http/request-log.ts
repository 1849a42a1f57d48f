import type { Logger } from "@wgp-farm/config";
import type { NextFunction, Request, RequestHandler, Response } from "express";

/** One log line per request once it is answered: method, path, status, time, and the token's id. */
export function requestLog(logger: Logger, tokenIdOf: (req: Request) => string | undefined): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    res.on("finish", () => {
      logger.info(
        {
          method: req.method,
          path: req.path,
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
          token: tokenIdOf(req) ?? null,
        },
        "request",
      );
    });
    next();
  };
}
