import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Redis } from "ioredis";
import { caller } from "../auth/caller.js";
import type { SubmitLimits } from "../auth/submit-limits.js";
import { askRedis } from "../redis-gate.js";

/** Counts a submit-like request against the token's rate (429 past it, 503 when Redis is away). */
export function submitRate(redis: Redis, limits: SubmitLimits): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    await askRedis(redis, "check the submit rate", () => limits.countRequest(caller(req).token.id));
    next();
  };
}
