import { retryTask } from "@wgp-farm/queue";
import type { Request, RequestHandler, Response } from "express";
import { caller } from "../auth/caller.js";
import { ApiError, taskNotFound } from "../errors.js";
import { askRedis } from "../redis-gate.js";
import { taskLinks } from "../tasks/task-links.js";
import { type HandlerContext, ownedTaskId } from "./handler-context.js";

/**
 * POST /v1/tasks/{id}/retry: runs a failed, quarantined or cancelled task again, as `wgp-farm retry`
 * does; it counts against the token's tasks in flight. 409 with the reason for any other state.
 */
export function retryTaskRoute(context: Pick<HandlerContext, "farm" | "owners" | "limits">): RequestHandler {
  return async (req: Request, res: Response) => {
    const taskId = await ownedTaskId(context, req);
    const tokenId = caller(req).token.id;
    const result = await askRedis(context.farm.redis, "retry the task", async () => {
      await context.limits.reserve(tokenId, [taskId]);
      const retried = await retryTask(context.farm, taskId);
      if (retried.outcome !== "retried") await context.limits.release(tokenId, [taskId]);
      return retried;
    });
    if (result.outcome === "not-found") throw taskNotFound(taskId);
    if (result.outcome === "not-retriable") {
      throw new ApiError(
        409,
        "not_retriable",
        `task '${taskId}' cannot be retried: ${result.message}`,
        result,
      );
    }
    res.status(202).json({ ...result, links: taskLinks(taskId) });
  };
}
