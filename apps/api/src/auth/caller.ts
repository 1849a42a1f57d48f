import type { Request } from "express";
import type { ApiTokenInfo } from "./api-token-store.js";
import type { Scope } from "./scopes.js";

/** Who is asking: the verified token, set on the request by `requireToken`. */
export interface Caller {
  token: ApiTokenInfo;
  has(scope: Scope): boolean;
  isAdmin: boolean;
}

const CALLERS = new WeakMap<Request, Caller>();

export function callerOf(token: ApiTokenInfo): Caller {
  const isAdmin = token.scopes.includes("admin");
  return { token, isAdmin, has: (scope) => isAdmin || token.scopes.includes(scope) };
}

export function setCaller(req: Request, caller: Caller): void {
  CALLERS.set(req, caller);
}

/** The request's caller; only routes behind `requireToken` ask. */
export function caller(req: Request): Caller {
  const found = CALLERS.get(req);
  if (!found) throw new Error("no caller on this request: the route is not behind requireToken");
  return found;
}

/** The caller when the request got past `requireToken`, else undefined (for logs). */
export function knownCaller(req: Request): Caller | undefined {
  return CALLERS.get(req);
}
