import { access } from "node:fs/promises";
import { type FarmConnection, findTaskJob, type SourceRef, TaskIndex } from "@wgp-farm/queue";
import { isS3Url, resultFileOf } from "@wgp-farm/storage";
import { z } from "zod";
import { type JobInputs, localizeUrl } from "../inputs/job-inputs.js";
import { MissingMediaError } from "../job/media-check.js";
import type { WorkPreparation } from "./job-work.js";

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
  /** Absolute path of its main file; its s3:// URL for a result kept in a bucket. */
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
  return { task_id, file: resultFileOf(output_dir, main_file), output_dir, main_file };
}

/** A source's main file on this host, held until released. */
export interface LocalSource extends JobInputs {
  path: string;
}

/**
 * A source's main file where this host can read it: on this host already (a shared output folder),
 * or, for a result kept in a bucket, fetched through the host's input cache under the file's own
 * name (engine-py and WanGP take the media type from the extension) and held until released.
 */
export async function localSourceFile(source: SourceOutput, host: WorkPreparation): Promise<LocalSource> {
  if (isS3Url(source.file)) {
    const named = { what: `source ${source.task_id}`, name: source.main_file };
    return localizeUrl(source.file, named, host.inputs, host.log, host.signal);
  }
  await access(source.file).catch(() => {
    throw new SourceNotReadyError(`${source.task_id}'s main file ${source.file} is not on this worker`);
  });
  return { path: source.file, release: async () => {} };
}
