import type { Request, RequestHandler, Response } from "express";
import type { Redis } from "ioredis";
import { API_VERSION } from "../package-version.js";
import { askRedis } from "../redis-gate.js";

/**
 * GET /healthz, for load balancers (no token, nothing secret): 200 while Redis answers, 503
 * otherwise. (The dashboard has its twin; both should share one probe in libs/queue.)
 */
export function healthRoute(redis: Redis): RequestHandler {
  return async (_req: Request, res: Response) => {
    res.set("Cache-Control", "no-store");
    try {
      await askRedis(redis, "ping Redis", () => redis.ping(), 1000);
      res.json({ status: "ok", version: API_VERSION, redis: { reachable: true } });
    } catch {
      res.status(503).json({
        status: "unavailable",
        version: API_VERSION,
        redis: { reachable: false },
        error: { status: 503, code: "redis_unavailable", message: "the farm's Redis does not answer" },
      });
    }
  };
}
