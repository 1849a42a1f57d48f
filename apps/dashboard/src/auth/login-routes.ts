import express, { type Request, type Response, Router } from "express";
import type { Authenticator } from "./authenticator.js";
import type { DashboardCredentials } from "./credentials.js";
import { renderLoginPage } from "./login-page.js";
import type { LoginThrottle } from "./login-throttle.js";
import { clientAddress } from "./request-kind.js";
import { LOGIN_PATH } from "./require-auth.js";
import { SESSION_COOKIE } from "./session-tokens.js";

/** Only a path on this server: `//evil.example` and absolute URLs would turn the login into an open redirect. */
function safeNext(value: unknown): string {
  return typeof value === "string" &&
    value.startsWith("/") &&
    !value.startsWith("//") &&
    !value.includes("\\")
    ? value
    : "/";
}

function field(body: unknown, name: string): string | undefined {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** GET/POST /login (a form that sets the session cookie) and GET /logout. */
export function loginRoutes(
  authenticator: Authenticator,
  credentials: DashboardCredentials | null,
  throttle: LoginThrottle,
): Router {
  const router = Router();
  const page = (res: Response, status: number, next: string, error?: string) => {
    res
      .status(status)
      .type("html")
      .send(
        renderLoginPage({
          next,
          error,
          password: credentials?.password !== undefined,
          token: credentials?.token !== undefined,
        }),
      );
  };

  router.get(LOGIN_PATH, (req: Request, res: Response) => {
    if (!authenticator.required) {
      res.redirect(303, safeNext(req.query.next));
      return;
    }
    page(res, 200, safeNext(req.query.next));
  });

  router.post(
    LOGIN_PATH,
    express.urlencoded({ extended: false, limit: "4kb" }),
    (req: Request, res: Response) => {
      const next = safeNext(field(req.body, "next"));
      if (!authenticator.required) {
        res.redirect(303, next);
        return;
      }
      const client = clientAddress(req);
      const wait = throttle.retryAfterS(client);
      if (wait > 0) {
        res.set("Retry-After", String(wait));
        page(res, 429, next, `Too many failed attempts: try again in ${wait} s.`);
        return;
      }
      const given = {
        username: field(req.body, "username"),
        password: field(req.body, "password"),
        token: field(req.body, "token"),
      };
      if (!given.password && !given.token) {
        page(res, 400, next, "Enter your password or access token.");
        return;
      }
      if (!authenticator.accepts(given)) {
        throttle.recordFailure(client);
        page(res, 401, next, "Wrong user name, password or token.");
        return;
      }
      throttle.recordSuccess(client);
      const user = given.username ?? authenticator.username ?? "token";
      res.cookie(SESSION_COOKIE, authenticator.sessions.issue(user), {
        httpOnly: true,
        sameSite: "strict",
        secure: req.secure,
        path: "/",
        maxAge: authenticator.sessions.ttlMs,
      });
      res.redirect(303, next);
    },
  );

  router.get("/logout", (_req: Request, res: Response) => {
    res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: "strict", path: "/" });
    res.redirect(303, LOGIN_PATH);
  });

  return router;
}
