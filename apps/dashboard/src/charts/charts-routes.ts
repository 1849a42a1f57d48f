import type { FarmConnection } from "@wgp-farm/queue";
import { type Request, type Response, Router } from "express";
import { hoursOf } from "../timeline/timeline-routes.js";
import { readFarmCharts } from "./farm-charts.js";

/** GET /farm/api/charts?hours=1|6|24: tasks per hour, queue depth and wait, generation times. */
export function chartsRoutes(farm: FarmConnection): Router {
  const router = Router();
  router.get("/farm/api/charts", async (req: Request, res: Response) => {
    res.set("Cache-Control", "no-store").json(await readFarmCharts(farm, hoursOf(req.query.hours)));
  });
  return router;
}
