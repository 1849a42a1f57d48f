import path from "node:path";
import { isMediaRef, type Task } from "@wgp-farm/tasks";
import { z } from "zod";
import type { FarmConnection } from "../records/farm-connection.js";
import { findTaskJob } from "./task-lookup.js";

/** The fields of a completed job's result that locate its main output. */
const MainOutputSchema = z.object({ output_dir: z.string().min(1), main_file: z.string().min(1) });

export interface ResolvedInputs {
  /** The task with every `{"from": id}` replaced by the absolute path of that job's main output. */
  task: Task;
  /** One line per reference that could not be resolved (the job is unknown, unfinished, or has no output). */
  problems: string[];
}

async function mainOutputOf(farm: FarmConnection, taskId: string): Promise<string | string[]> {
  const found = await findTaskJob(farm, taskId, await farm.redis.hget(farm.keys.taskIndex, taskId));
  if (!found) return [`${taskId} is unknown to the farm`];
  const state = await found.job.getState();
  if (state !== "completed") return [`${taskId} is ${state}, not completed`];
  const result = MainOutputSchema.safeParse(found.job.returnvalue);
  if (!result.success) return [`${taskId} completed without a main output file`];
  return path.join(result.data.output_dir, result.data.main_file);
}

/**
 * Resolves a task's `{"from": id}` media values (the importer keeps them as references) to the
 * files the named jobs published, when the task is about to run: by then its dependencies have
 * completed, since its flow made it wait for them.
 */
export async function resolveOutputRefs(farm: FarmConnection, task: Task): Promise<ResolvedInputs> {
  const problems: string[] = [];
  const resolve = async (value: unknown): Promise<unknown> => {
    if (!isMediaRef(value)) return value;
    const output = await mainOutputOf(farm, value.from);
    if (typeof output === "string") return output;
    problems.push(...output);
    return value;
  };
  const entries = await Promise.all(
    Object.entries(task).map(async ([key, value]) => [
      key,
      Array.isArray(value) ? await Promise.all(value.map(resolve)) : await resolve(value),
    ]),
  );
  return { task: Object.fromEntries(entries) as Task, problems };
}
