import type { Logger } from "@wgp-farm/config";
import { type FarmConnection, searchTasks, TASK_STATE_FILTERS, type TaskStateFilter } from "@wgp-farm/queue";
import { type Request, type Response, Router } from "express";

function timeOf(value: unknown): number | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : at;
}

function textOf(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}

/** GET /farm/api/search?q=&model=&state=&since=&until=: the same search as `wgp-farm ls --search`. */
export function searchRoutes(farm: FarmConnection, logger: Logger): Router {
  const router = Router();
  router.get("/farm/api/search", async (req: Request, res: Response) => {
    const state = textOf(req.query.state);
    const tasks = await searchTasks(
      farm,
      {
        text: textOf(req.query.q),
        model: textOf(req.query.model),
        state: (TASK_STATE_FILTERS as readonly string[]).includes(state ?? "")
          ? (state as TaskStateFilter)
          : undefined,
        from: timeOf(req.query.since),
        to: timeOf(req.query.until),
        limit: Math.min(500, Math.max(1, Number(req.query.limit) || 50)),
      },
      logger,
    );
    res.set("Cache-Control", "no-store").json({ tasks });
  });
  return router;
}
