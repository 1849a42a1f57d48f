import { findTask, TASK_STATE_FILTERS } from "@wgp-farm/queue";
import type { Request, RequestHandler, Response } from "express";
import { z } from "zod";
import { caller } from "../auth/caller.js";
import { ApiError } from "../errors.js";
import { askRedis } from "../redis-gate.js";
import { submittedTasksAfter } from "../tasks/submitted-tasks.js";
import { decodeCursor, encodeCursor, type ListingCursor } from "../tasks/task-listing-cursor.js";
import { taskView } from "../tasks/task-view.js";
import type { HandlerContext } from "./handler-context.js";

/** A filtered page stops after looking at this many tasks (fewer results, and a cursor to go on). */
const MAX_SCANNED = 1000;
const LISTING_MS = 15_000;

const ListQuery = z
  .object({
    state: z.enum(TASK_STATE_FILTERS).optional(),
    model: z.string().min(1).optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().min(1).optional(),
  })
  .strict();

function queryOf(req: Request) {
  const parsed = ListQuery.safeParse(req.query);
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((issue) => ({
    path: issue.path.join(".") || (issue.code === "unrecognized_keys" ? issue.keys.join(", ") : ""),
    message: issue.message,
  }));
  throw new ApiError(400, "invalid_query", "fix the query parameters named in details", details);
}

/**
 * GET /v1/tasks: the caller's tasks (every API task for an admin), newest submit first, filtered by
 * state, model and submit time, a page at a time (`next_cursor`). Tasks imported outside the API
 * are not listed here (`wgp-farm ls` lists them).
 */
export function listTasksRoute(context: Pick<HandlerContext, "farm" | "keys">): RequestHandler {
  return async (req: Request, res: Response) => {
    const query = queryOf(req);
    const who = caller(req);
    const key = who.isAdmin ? context.keys.submittedTasks : context.keys.tasksOf(who.token.id);
    const sinceMs = query.since === undefined ? undefined : Date.parse(query.since);
    const untilMs = query.until === undefined ? undefined : Date.parse(query.until);
    // Starting just past `until` (the highest id sorts first among ties) lists from it inclusive.
    const start = query.cursor
      ? decodeCursor(query.cursor)
      : untilMs === undefined
        ? undefined
        : { at: untilMs, id: "\u{10ffff}" };
    const page = await askRedis(
      context.farm.redis,
      "list the tasks",
      async () => {
        const tasks: Awaited<ReturnType<typeof taskView>>[] = [];
        let last: ListingCursor | undefined;
        let scanned = 0;
        for await (const entry of submittedTasksAfter(context.farm.redis, key, start, sinceMs)) {
          if (tasks.length === query.limit || scanned === MAX_SCANNED) return { tasks, next: last };
          last = entry;
          scanned++;
          const details = await findTask(context.farm, entry.id, { logLines: 0 });
          if (!details) continue;
          const view = await taskView(context.farm, details);
          if (query.state && view.state !== query.state) continue;
          if (query.model && view.model !== query.model) continue;
          tasks.push(view);
        }
        return { tasks, next: undefined };
      },
      LISTING_MS,
    );
    res.json({ tasks: page.tasks, next_cursor: page.next ? encodeCursor(page.next) : null });
  };
}
