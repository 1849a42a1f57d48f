import { fileURLToPath } from "node:url";
import { cancelTask, type FarmConnection, readFarmStatus, slotBusyRatio } from "@wgp-farm/queue";
import { type Request, type Response, Router } from "express";

const FARM_PAGE = fileURLToPath(new URL("../../assets/farm.html", import.meta.url));

export interface FarmViewOptions {
  farm: FarmConnection;
  readOnly: boolean;
  /** The Bull Board page of a queue, for links. */
  boardUrlOf: (queueName: string) => string;
}

/**
 * The farm view: a page of our own next to Bull Board (per host and GPU: loaded model, current task
 * with progress and ETA, counts, last seen; per model queue: depth and oldest wait), the small JSON
 * endpoint it polls, and its one action, cancelling a task.
 */
export function farmViewRoutes({ farm, readOnly, boardUrlOf }: FarmViewOptions): Router {
  const router = Router();

  router.get("/farm", (_req: Request, res: Response) => {
    res.set("Cache-Control", "no-store").sendFile(FARM_PAGE);
  });

  router.get("/farm/api/status", async (_req: Request, res: Response) => {
    const now = Date.now();
    const status = await readFarmStatus(farm, now);
    res.set("Cache-Control", "no-store").json({
      ...status,
      slots: status.slots.map((slot) => ({ ...slot, busy_ratio: slotBusyRatio(slot, now) })),
      queues: status.queues.map((queue) => ({ ...queue, board_url: boardUrlOf(queue.queue) })),
      read_only: readOnly,
      user: (res.locals.user as string | undefined) ?? null,
    });
  });

  router.post("/farm/api/tasks/:taskId/cancel", async (req: Request, res: Response) => {
    const taskId = String(req.params.taskId);
    const user = (res.locals.user as string | undefined) ?? "anonymous";
    const result = await cancelTask(farm, taskId, `cancelled from the dashboard by ${user}`);
    res.status(result.outcome === "not-found" ? 404 : 200).json(result);
  });

  return router;
}
