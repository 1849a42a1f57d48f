import type { NextFunction, Request, RequestHandler, Response } from "express";

/**
 * An API answers JSON and files only: nothing may run, frame or sniff it, and no answer is cached by
 * a shared cache. (No host guard as on the open dashboard: every route needs a bearer token, which a
 * browser never sends on its own, so DNS rebinding gains nothing.)
 */
export function securityHeaders(): RequestHandler {
  return (_req: Request, res: Response, next: NextFunction) => {
    res.set({
      "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
      "X-Content-Type-Options": "nosniff",
      "X-Frame-Options": "DENY",
      "Referrer-Policy": "no-referrer",
      "Cross-Origin-Resource-Policy": "same-origin",
      "Cache-Control": "no-store",
    });
    next();
  };
}
