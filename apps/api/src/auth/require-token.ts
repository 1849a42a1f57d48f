import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Redis } from "ioredis";
import { ApiError } from "../errors.js";
import { askRedis } from "../redis-gate.js";
import type { ApiTokenStore } from "./api-token-store.js";
import { callerOf, caller as callerOfRequest, setCaller } from "./caller.js";
import type { Scope } from "./scopes.js";

function bearerOf(req: Request): string | null {
  const header = req.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

const ASK_FOR_TOKEN = { "WWW-Authenticate": 'Bearer realm="wgp-farm"' };

/**
 * Every /v1 route needs a valid token, on loopback too: a token is never implied by where a request
 * comes from. Redis away: 503 (fail closed), never a request let through unchecked.
 */
export function requireToken(redis: Redis, tokens: ApiTokenStore): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const presented = bearerOf(req);
    if (!presented) {
      throw new ApiError(
        401,
        "token_required",
        "send an API token: Authorization: Bearer <token> (make one with `wgp-farm token create`)",
        undefined,
        ASK_FOR_TOKEN,
      );
    }
    const token = await askRedis(redis, "check the API token", () => tokens.verify(presented));
    if (!token) {
      throw new ApiError(
        401,
        "token_invalid",
        "the API token is unknown or revoked; ask an operator for a new one (`wgp-farm token create`)",
        undefined,
        ASK_FOR_TOKEN,
      );
    }
    setCaller(req, callerOf(token));
    next();
  };
}

/** Refuses the request unless the caller's token has `scope` (admin has every scope). */
export function requireScope(scope: Scope): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const who = callerOfRequest(req);
    if (!who.has(scope)) {
      throw new ApiError(
        403,
        "scope_missing",
        `this token lacks the '${scope}' scope (it has: ${who.token.scopes.join(", ")}); use a token made with --scope ${scope}`,
      );
    }
    next();
  };
}
