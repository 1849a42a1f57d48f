import path from "node:path";
import { type FarmConnection, findTaskJob, type SourceRef, TaskIndex } from "@wgp-farm/queue";
import { z } from "zod";
import { MissingMediaError } from "../job/media-check.js";

/** A step's source has no output to read (unknown, not completed, no main file): the step fails without retry. */
export class SourceNotReadyError extends MissingMediaError {
  override name = "SourceNotReadyError";
  constructor(problem: string) {
    super([problem]);
    this.message = `source not ready: ${problem}`;
  }
}

/** The fields of a completed job's return value (its ResultSummary) that locate its main output. */
const SourceResultSchema = z.object({ output_dir: z.string().min(1), main_file: z.string().min(1) });

/** A completed source job's main output. */
export interface SourceOutput {
  task_id: string;
  /** Absolute path of its main file. */
  file: string;
  output_dir: string;
  main_file: string;
}

/**
 * The main output of a step's source, read from the completed source job's result (found through
 * the task index). A source that is not completed, or whose result names no main file that exists,
 * is a SourceNotReadyError naming it.
 */
export async function sourceOutput(farm: FarmConnection, source: SourceRef): Promise<SourceOutput> {
  const { task_id } = source;
  const queue = await new TaskIndex(farm.redis, farm.keys).queueOf(task_id);
  const found = await findTaskJob(farm, task_id, queue);
  if (!found) throw new SourceNotReadyError(`${task_id} is unknown to the farm`);
  const state = await found.job.getState();
  if (state !== "completed") throw new SourceNotReadyError(`${task_id} is ${state}, not completed`);
  const result = SourceResultSchema.safeParse(found.job.returnvalue);
  if (!result.success) throw new SourceNotReadyError(`${task_id} completed without a main output file`);
  const { output_dir, main_file } = result.data;
  return { task_id, file: path.join(output_dir, main_file), output_dir, main_file };
}
