import { answerWithin } from "@wgp-farm/config";
import { type FarmConnection, redisIsDown } from "@wgp-farm/queue";
import type { Request, RequestHandler, Response } from "express";
import { DASHBOARD_VERSION } from "../package-version.js";

const REDIS_PROBE_TIMEOUT_MS = 1000;

/** The Redis server's version, or an error when it does not answer in time. */
async function probeRedis(farm: FarmConnection): Promise<string> {
  // A service connection queues commands while it reconnects: do not wait on a Redis that is away
  // (this connection reconnecting, or another of the process's during a logged outage).
  if (farm.redis.status !== "ready") throw new Error(`connection ${farm.redis.status}`);
  if (redisIsDown(farm.redis)) throw new Error("Redis unreachable; reconnecting");
  const info = await answerWithin(
    farm.redis.info("server"),
    REDIS_PROBE_TIMEOUT_MS,
    () => new Error("no answer"),
  );
  return /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? "unknown";
}

/**
 * GET /healthz, for load balancers and probes (no credentials needed, nothing secret in it):
 * 200 when Redis answers, 503 otherwise.
 */
export function healthRoute(farm: FarmConnection): RequestHandler {
  return async (_req: Request, res: Response) => {
    res.set("Cache-Control", "no-store");
    try {
      const redisVersion = await probeRedis(farm);
      res.json({
        status: "ok",
        version: DASHBOARD_VERSION,
        redis: { reachable: true, version: redisVersion },
      });
    } catch (error) {
      res.status(503).json({
        status: "unavailable",
        version: DASHBOARD_VERSION,
        redis: { reachable: false, error: (error as Error).message },
      });
    }
  };
}
