import type { Logger } from "@wgp-farm/config";
import type { FarmConnection, RetryPolicy } from "@wgp-farm/queue";
import type { Request } from "express";
import type { ApiKeys } from "../api-keys.js";
import { caller } from "../auth/caller.js";
import type { SubmitLimits } from "../auth/submit-limits.js";
import { taskNotFound } from "../errors.js";
import type { InputStore } from "../inputs/input-store.js";
import type { MediaReferences } from "../intake/media-references.js";
import type { TaskSubmission } from "../intake/task-submission.js";
import type { OutputFiles } from "../outputs/output-files.js";
import { askRedis } from "../redis-gate.js";
import type { TaskOwners } from "../tasks/task-owners.js";

/** What the route handlers share: the farm and the API's stores. Each handler takes what it uses. */
export interface HandlerContext {
  farm: FarmConnection;
  keys: ApiKeys;
  owners: TaskOwners;
  limits: SubmitLimits;
  submission: TaskSubmission;
  inputs: InputStore;
  /** What media a request may name (uploaded inputs, files under the media roots). */
  media: MediaReferences;
  /** Attempts and backoff of the jobs a request adds. */
  retry: RetryPolicy;
  outputs: OutputFiles;
  logger: Logger;
}

/** The task id of the route, once the caller is known to own it (or is an admin); else a 404. */
export async function ownedTaskId(
  context: Pick<HandlerContext, "farm" | "owners">,
  req: Request,
): Promise<string> {
  const taskId = String(req.params.id);
  const may = await askRedis(context.farm.redis, "look the task up", () =>
    context.owners.mayAccess(caller(req), taskId),
  );
  if (!may) throw taskNotFound(taskId);
  return taskId;
}
