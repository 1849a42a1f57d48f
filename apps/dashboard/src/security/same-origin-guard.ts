import type { NextFunction, Request, RequestHandler, Response } from "express";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function isStateChanging(req: Request): boolean {
  return !SAFE_METHODS.has(req.method);
}

/**
 * Why a state-changing request is refused as cross-site, or null when it may go on. Browsers say
 * where a request comes from (Sec-Fetch-Site; Origin on every non-GET request), so a form or script
 * on another site is recognised and refused; together with the SameSite=Strict session cookie this
 * is the CSRF defence. A request with neither header is not from a browser (curl, scripts), which
 * cannot be made to send ambient credentials by another site.
 */
export function crossSiteReason(req: Request): string | null {
  const site = req.headers["sec-fetch-site"];
  if (site !== undefined) return site === "same-origin" ? null : `Sec-Fetch-Site is ${site}`;
  const origin = req.headers.origin;
  if (origin === undefined) return null;
  const expected = `${req.protocol}://${req.headers.host ?? ""}`;
  return origin === expected ? null : `Origin ${origin} is not ${expected}`;
}

export function sameOriginGuard(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const reason = isStateChanging(req) ? crossSiteReason(req) : null;
    if (reason) {
      res.status(403).json({ error: "cross-site request refused", reason });
      return;
    }
    next();
  };
}
