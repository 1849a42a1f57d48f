import type { NextFunction, Request, RequestHandler, Response } from "express";
import { isStateChanging } from "./same-origin-guard.js";

/** Paths that change no farm state: logging in and out still works on a read-only dashboard. */
const SESSION_PATHS = new Set(["/login", "/logout"]);

/**
 * `--read-only`: every state-changing request is refused before it reaches a handler, Bull Board's or
 * ours, whatever the UI shows. (Bull Board's own readOnlyMode is set too; this does not rely on it.)
 */
export function readOnlyGuard(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (isStateChanging(req) && !SESSION_PATHS.has(req.path)) {
      res.status(405).set("Allow", "GET, HEAD").json({ error: "the dashboard is read-only" });
      return;
    }
    next();
  };
}
