import type { Request, RequestHandler, Response } from "express";
import { caller } from "../auth/caller.js";
import { ApiError } from "../errors.js";
import { askRedis } from "../redis-gate.js";
import type { HandlerContext } from "./handler-context.js";

const MAX_KEY_LENGTH = 255;
/** A whole batch is validated and queued within this time, or the client is told to retry. */
const SUBMIT_MS = 30_000;

function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.get("Idempotency-Key");
  if (key === undefined) return undefined;
  if (key.length === 0 || key.length > MAX_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(key)) {
    throw new ApiError(
      400,
      "invalid_idempotency_key",
      `Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} visible ASCII characters (a UUID is a good choice)`,
    );
  }
  return key;
}

/** POST /v1/tasks: one task or `{"tasks": […]}`; see TaskSubmission for the outcomes. */
export function submitTasks(context: Pick<HandlerContext, "farm" | "submission">): RequestHandler {
  return async (req: Request, res: Response) => {
    const key = idempotencyKeyOf(req);
    const outcome = await askRedis(
      context.farm.redis,
      "queue the tasks",
      () => context.submission.submit(caller(req), req.body, key),
      SUBMIT_MS,
    );
    if (outcome.replayed) res.set("Idempotent-Replayed", "true");
    res.status(outcome.status).json(outcome.body);
  };
}
