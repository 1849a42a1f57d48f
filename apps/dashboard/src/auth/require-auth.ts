import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Authenticator } from "./authenticator.js";
import type { LoginThrottle } from "./login-throttle.js";
import { clientAddress, isFromBrowser, isPageNavigation } from "./request-kind.js";

export const LOGIN_PATH = "/login";

export function sendTooManyAttempts(res: Response, retryAfterS: number): void {
  res
    .status(429)
    .set("Retry-After", String(retryAfterS))
    .json({ error: "too many failed logins", retry_after_s: retryAfterS });
}

/**
 * Lets a request through only with valid credentials. Wrong credentials are a 401 and count against
 * the client's login throttle; past its limit, a 429 whatever the credentials.
 */
export function requireAuth(authenticator: Authenticator, throttle: LoginThrottle): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!authenticator.required) {
      next();
      return;
    }
    const client = clientAddress(req);
    const guessing = req.headers.authorization !== undefined;
    const wait = guessing ? throttle.retryAfterS(client) : 0;
    if (wait > 0) {
      sendTooManyAttempts(res, wait);
      return;
    }
    const result = authenticator.check(req);
    if (result.outcome === "ok") {
      if (result.method !== "session") throttle.recordSuccess(client);
      res.locals.user = result.user;
      next();
      return;
    }
    if (result.outcome === "wrong") throttle.recordFailure(client);
    if (result.outcome === "missing" && isPageNavigation(req)) {
      res.redirect(303, `${LOGIN_PATH}?next=${encodeURIComponent(req.originalUrl)}`);
      return;
    }
    if (!isFromBrowser(req)) res.set("WWW-Authenticate", 'Basic realm="wgp-farm", charset="UTF-8"');
    res
      .status(401)
      .json({ error: result.outcome === "wrong" ? "wrong credentials" : "authentication required" });
  };
}
