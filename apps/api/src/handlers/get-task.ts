import { findTask } from "@wgp-farm/queue";
import type { Request, RequestHandler, Response } from "express";
import { taskNotFound } from "../errors.js";
import { askRedis } from "../redis-gate.js";
import { taskView } from "../tasks/task-view.js";
import { type HandlerContext, ownedTaskId } from "./handler-context.js";

/** GET /v1/tasks/{id}: state, attempts, progress and ETA, queue position, result and file links. */
export function getTask(context: Pick<HandlerContext, "farm" | "owners">): RequestHandler {
  return async (req: Request, res: Response) => {
    const taskId = await ownedTaskId(context, req);
    const view = await askRedis(context.farm.redis, "read the task", async () => {
      const details = await findTask(context.farm, taskId, { logLines: 0 });
      return details && taskView(context.farm, details);
    });
    if (!view) throw taskNotFound(taskId);
    res.json(view);
  };
}
