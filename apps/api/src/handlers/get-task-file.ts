import { findTask } from "@wgp-farm/queue";
import type { Request, RequestHandler, Response } from "express";
import { taskNotFound } from "../errors.js";
import { askRedis } from "../redis-gate.js";
import { type HandlerContext, ownedTaskId } from "./handler-context.js";

/**
 * GET /v1/tasks/{id}/files/{name}: one output file, with HTTP Range, ETag and a content type from its
 * extension (express's sendFile), never from outside the task's output folder.
 */
export function getTaskFile(context: Pick<HandlerContext, "farm" | "owners" | "outputs">): RequestHandler {
  return async (req: Request, res: Response) => {
    const taskId = await ownedTaskId(context, req);
    const details = await askRedis(context.farm.redis, "read the task", () =>
      findTask(context.farm, taskId, { logLines: 0 }),
    );
    if (!details) throw taskNotFound(taskId);
    const link = await context.outputs.linkOf(taskId, details.result, String(req.params.name));
    if (link) {
      res.redirect(302, link);
      return;
    }
    const file = await context.outputs.resolve(taskId, details.output_sub_dir, String(req.params.name));
    const sent = Promise.withResolvers<void>();
    res.sendFile(file, { dotfiles: "allow", headers: { "Cache-Control": "private, no-cache" } }, (error) =>
      error ? sent.reject(error) : sent.resolve(),
    );
    await sent.promise;
  };
}
