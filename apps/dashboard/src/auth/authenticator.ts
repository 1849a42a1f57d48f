import { parseCookie } from "cookie";
import type { Request } from "express";
import type { DashboardCredentials } from "./credentials.js";
import { secretsEqual } from "./secret-compare.js";
import { SESSION_COOKIE, type SessionTokens } from "./session-tokens.js";

export type AuthMethod = "basic" | "bearer" | "session" | "open";

export type AuthResult =
  | { outcome: "ok"; user: string; method: AuthMethod }
  /** No credentials came with the request. */
  | { outcome: "missing" }
  /** Credentials came, and they are wrong: this counts as a guess. */
  | { outcome: "wrong" };

export function readCookie(req: Request, name: string): string | undefined {
  return parseCookie(req.headers.cookie ?? "")[name];
}

/** Decides who a request comes from: basic auth, a bearer token, or a session cookie. */
export class Authenticator {
  constructor(
    private readonly credentials: DashboardCredentials | null,
    readonly sessions: SessionTokens,
  ) {}

  /** False when no credentials are configured (a loopback-only dashboard): everyone is let in. */
  get required(): boolean {
    return this.credentials !== null;
  }

  get username(): string | null {
    return this.credentials?.username ?? null;
  }

  /** Whether a user name and password (or a token) are right. */
  accepts(given: { username?: string; password?: string; token?: string }): boolean {
    const expected = this.credentials;
    if (!expected) return true;
    if (given.token && expected.token && secretsEqual(given.token, expected.token)) return true;
    if (!given.password || !expected.password) return false;
    // Both compared, always: the answer must not tell which of the two was wrong, nor when.
    const userOk = secretsEqual(given.username ?? "", expected.username);
    const passwordOk = secretsEqual(given.password, expected.password);
    return userOk && passwordOk;
  }

  check(req: Request): AuthResult {
    if (!this.credentials) return { outcome: "ok", user: "anonymous", method: "open" };
    const header = req.headers.authorization;
    if (header) return this.checkHeader(header);
    const session = readCookie(req, SESSION_COOKIE);
    const user = session ? this.sessions.verify(session) : null;
    // A stale or forged cookie is not a password guess: it is treated as no credentials (login again).
    return user === null ? { outcome: "missing" } : { outcome: "ok", user, method: "session" };
  }

  private checkHeader(header: string): AuthResult {
    const [scheme = "", value = ""] = header.split(/\s+/, 2);
    if (scheme.toLowerCase() === "bearer") {
      return this.accepts({ token: value })
        ? { outcome: "ok", user: this.credentials?.username ?? "token", method: "bearer" }
        : { outcome: "wrong" };
    }
    if (scheme.toLowerCase() === "basic") {
      const decoded = Buffer.from(value, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      const username = colon < 0 ? decoded : decoded.slice(0, colon);
      const password = colon < 0 ? "" : decoded.slice(colon + 1);
      // A token also works as the basic-auth password (handy for tools that only speak basic auth).
      return this.accepts({ username, password }) || this.accepts({ token: password })
        ? { outcome: "ok", user: username, method: "basic" }
        : { outcome: "wrong" };
    }
    return { outcome: "wrong" };
  }
}
