import { type FarmConnection, findTaskJob, TaskIndex } from "@wgp-farm/queue";
import { type Request, type Response, Router } from "express";
import { sharedReadsOf } from "../reads/shared-reads.js";
import { finishedJobOfJob, type ResultFilter, readFinishedJobs } from "./finished-jobs.js";
import { cardOf, type ResultCard } from "./result-cards.js";
import type { ResultMedia } from "./result-media.js";

const STATES = new Set(["completed", "failed"]);
const DEFAULT_LIMIT = 48;
const MAX_LIMIT = 500;

function stringOf(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/** The grid's filter from a query string (`{}`: the grid as a page opens it). */
function resultFilterOf(query: Record<string, unknown>): ResultFilter {
  const state = stringOf(query.state);
  const hours = Number(query.hours);
  return {
    model: stringOf(query.model),
    state: state && STATES.has(state) ? (state as "completed" | "failed") : undefined,
    since: hours > 0 ? Date.now() - hours * 3_600_000 : undefined,
    limit: Math.min(MAX_LIMIT, Math.max(1, Number(query.limit) || DEFAULT_LIMIT)),
  };
}

/**
 * The grid's answer: its cards, and whether the dashboard serves their media (one read for the
 * viewers who ask for the same query at the same time).
 */
export function readResultsView(
  farm: FarmConnection,
  media: ResultMedia,
  query: Record<string, unknown>,
): Promise<{ results: ResultCard[]; serving: boolean }> {
  return sharedReadsOf(farm).read(`results:${JSON.stringify(query)}`, async () => {
    const jobs = await readFinishedJobs(farm, resultFilterOf(query));
    media.remember(jobs);
    const serving = await media.serving();
    return { results: jobs.map((job) => cardOf(job, serving)), serving };
  });
}

/**
 * The results grid's API (recent results with their previews, filtered by model, state and time;
 * one task's result) and the media of results, served with HTTP Range so that videos play and seek.
 */
export function resultsRoutes(farm: FarmConnection, media: ResultMedia): Router {
  const router = Router();

  router.get("/farm/api/results", async (req: Request, res: Response) => {
    const view = await readResultsView(farm, media, req.query);
    res.set("Cache-Control", "no-store").json(view);
  });

  router.get("/farm/api/tasks/:taskId/result", async (req: Request, res: Response) => {
    const taskId = String(req.params.taskId);
    const found = await findTaskJob(farm, taskId, await new TaskIndex(farm.redis, farm.keys).queueOf(taskId));
    const state = found ? await found.job.getState() : null;
    if (!found || (state !== "completed" && state !== "failed")) {
      res.status(404).json({ error: `task ${taskId} has no result (yet)` });
      return;
    }
    res
      .set("Cache-Control", "no-store")
      .json(cardOf(finishedJobOfJob(found.job, found.queueName, state), await media.serving()));
  });

  router.get("/farm/media/:taskId/*name", async (req: Request, res: Response) => {
    const segments = req.params.name as unknown as string[];
    const file = await media.fileOf(String(req.params.taskId), segments.join("/"));
    if (!file) {
      res.status(404).json({ error: "no such result file" });
      return;
    }
    res.sendFile(file, { dotfiles: "allow", headers: { "Cache-Control": "private, max-age=300" } });
  });

  return router;
}
