import { cancelTask } from "@wgp-farm/queue";
import type { Request, RequestHandler, Response } from "express";
import { caller } from "../auth/caller.js";
import { taskNotFound } from "../errors.js";
import { askRedis } from "../redis-gate.js";
import { taskLinks } from "../tasks/task-links.js";
import { type HandlerContext, ownedTaskId } from "./handler-context.js";

/**
 * DELETE /v1/tasks/{id}: cancels as `wgp-farm cancel` does. 200 removed (it had not started) or
 * already finished; 202 cancelling (it runs: its slot stops it at the next step).
 */
export function cancelTaskRoute(context: Pick<HandlerContext, "farm" | "owners" | "limits">): RequestHandler {
  return async (req: Request, res: Response) => {
    const taskId = await ownedTaskId(context, req);
    const reason = `cancelled over the API (token ${caller(req).token.id})`;
    const result = await askRedis(context.farm.redis, "cancel the task", () =>
      cancelTask(context.farm, taskId, reason),
    );
    if (result.outcome === "not-found") throw taskNotFound(taskId);
    res.status(result.outcome === "cancelling" ? 202 : 200).json({ ...result, links: taskLinks(taskId) });
  };
}
