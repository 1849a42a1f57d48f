import { FARM_EVENT_STATES } from "@wgp-farm/queue";
import { FARM_EVENT_TYPES } from "@wgp-farm/tasks";
import type { Request } from "express";
import { z } from "zod";
import type { Caller } from "../auth/caller.js";
import { ApiError } from "../errors.js";
import type { HubEvent } from "./event-hub.js";

/** `a,b` or repeated parameters: a list. */
function listOf<T extends z.ZodType<unknown, string>>(item: T) {
  return z
    .union([z.string(), z.array(z.string())])
    .transform((value) => (Array.isArray(value) ? value : [value]).flatMap((part) => part.split(",")))
    .pipe(z.array(item).min(1));
}

const EventsQuery = z
  .strictObject({
    task: listOf(z.string().min(1)).optional(),
    model: listOf(z.string().min(1)).optional(),
    state: listOf(z.enum(FARM_EVENT_STATES)).optional(),
    type: listOf(z.enum(FARM_EVENT_TYPES)).optional(),
  })
  .transform((query) => ({
    task: query.task && new Set(query.task),
    model: query.model && new Set(query.model),
    state: query.state && new Set<string>(query.state),
    type: query.type && new Set<string>(query.type),
  }));

export type EventFilter = (hubEvent: HubEvent) => boolean;

/**
 * Which events one SSE client gets: those its query asks for (task, model, state, type, each a list)
 * and, unless its token is an admin's, only those of the tasks its token submitted.
 */
export function eventFilterOf(req: Request, who: Caller): EventFilter {
  const parsed = EventsQuery.safeParse(req.query);
  if (!parsed.success) {
    const details = parsed.error.issues.map((issue) => ({
      path: issue.path.join(".") || (issue.code === "unrecognized_keys" ? issue.keys.join(", ") : ""),
      message: issue.message,
    }));
    throw new ApiError(
      400,
      "invalid_query",
      "fix the query parameters named in details (task, model, state, type)",
      details,
    );
  }
  const { task, model, state, type } = parsed.data;
  const tokenId = who.isAdmin ? null : who.token.id;
  return ({ event, owner }) =>
    (tokenId === null || owner === tokenId) &&
    (!task || task.has(event.task_id)) &&
    (!model || model.has(event.model)) &&
    (!state || state.has(event.state)) &&
    (!type || type.has(event.type));
}
