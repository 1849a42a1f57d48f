import type { Logger } from "@wgp-farm/config";
import { cancelTask, type FarmConnection } from "@wgp-farm/queue";
import { type Request, type Response, Router } from "express";
import type { ResultCard } from "../results/result-cards.js";
import type { ResultMedia } from "../results/result-media.js";
import { readResultsView } from "../results/results-routes.js";
import { hoursOf, readGpuTimeline } from "../timeline/timeline-routes.js";
import { FarmPage } from "./farm-page.js";
import { type FarmStatusViewOptions, readFarmStatusView } from "./farm-status-view.js";

export interface FarmViewOptions extends FarmStatusViewOptions {
  farm: FarmConnection;
  /** The results' media, which the first view's results make known. */
  media: ResultMedia;
  logger: Logger;
}

/** How many of the grid's posters the page loads at once (farm-results.js's EAGER_POSTERS). */
const EAGER_POSTERS = 12;

/** The posters of the first view's first rows of results. */
function firstPosters(data: Record<string, unknown>): string[] {
  const view = data.results as { results: ResultCard[] } | undefined;
  return (view?.results ?? []).slice(0, EAGER_POSTERS).flatMap((card) => card.poster_url ?? []);
}

/** Who is logged in, as the auth middleware found them. */
function userOf(res: Response): string | null {
  return (res.locals.user as string | undefined) ?? null;
}

/**
 * The farm view: a page of our own next to Bull Board (per host and GPU: loaded model, current task
 * with progress and ETA, counts, last seen; per model queue: depth and oldest wait), sent with the
 * data of its first view; the small JSON endpoint it polls, and its one action, cancelling a task.
 */
export function farmViewRoutes(options: FarmViewOptions): Router {
  const { farm, media } = options;
  const router = Router();
  const page = new FarmPage(options.logger);

  router.get("/farm", async (_req: Request, res: Response) => {
    // What the page shows as it opens: the slots, the last hour's timeline, the newest results.
    await page.send(
      res,
      {
        status: () => readFarmStatusView(farm, options, userOf(res)),
        timeline: () => readGpuTimeline(farm, hoursOf(undefined)),
        results: () => readResultsView(farm, media, {}),
      },
      firstPosters,
    );
  });

  router.get("/farm/api/status", async (_req: Request, res: Response) => {
    res.set("Cache-Control", "no-store").json(await readFarmStatusView(farm, options, userOf(res)));
  });

  router.post("/farm/api/tasks/:taskId/cancel", async (req: Request, res: Response) => {
    const taskId = String(req.params.taskId);
    const user = (res.locals.user as string | undefined) ?? "anonymous";
    const result = await cancelTask(farm, taskId, `cancelled from the dashboard by ${user}`);
    res.status(result.outcome === "not-found" ? 404 : 200).json(result);
  });

  return router;
}
