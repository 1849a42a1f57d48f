import { postprocessTask } from "@wgp-farm/queue";
import type { Request, RequestHandler, Response } from "express";
import { caller } from "../auth/caller.js";
import { ApiError, taskNotFound } from "../errors.js";
import { invalidSteps, postStepsOfBody } from "../intake/post-steps-body.js";
import { askRedis } from "../redis-gate.js";
import { taskLinks } from "../tasks/task-links.js";
import { type HandlerContext, ownedTaskId } from "./handler-context.js";

/**
 * POST /v1/tasks/{id}/postprocess: adds post-steps to a completed task, as `wgp-farm postprocess`
 * does, without generating it again. The steps are the token's, like the task. 202 with the step
 * jobs; 409 when the task (or the end of its chain) has not completed; 422 for a step its output
 * cannot take.
 */
export function postprocessTaskRoute(
  context: Pick<HandlerContext, "farm" | "owners" | "media" | "retry">,
): RequestHandler {
  return async (req: Request, res: Response) => {
    const taskId = await ownedTaskId(context, req);
    const steps = await postStepsOfBody(req.body, context.media);
    const result = await askRedis(context.farm.redis, "add the post-steps", async () => {
      const added = await postprocessTask(context.farm, taskId, steps, context.retry);
      if (added.outcome === "queued") await context.owners.grant(caller(req).token.id, added.steps);
      return added;
    });
    if (result.outcome === "not-found") throw taskNotFound(taskId);
    if (result.outcome === "refused") {
      if (result.errors.length > 0) throw invalidSteps(result.errors, result.message ?? "");
      throw new ApiError(
        409,
        "not_postprocessable",
        `task '${taskId}' cannot be post-processed now: ${result.message}`,
        result,
      );
    }
    res.status(202).json({
      task_id: taskId,
      steps: result.steps.map((id) => ({ task_id: id, links: taskLinks(id) })),
      links: taskLinks(taskId),
    });
  };
}
