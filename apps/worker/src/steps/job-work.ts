import type { EngineSupervisor, JobHandlers, ResultMessage } from "@wgp-farm/engine";
import type { InputCache } from "../inputs/input-cache.js";
import type { JobInputs } from "../inputs/job-inputs.js";
import type { ResultManifest } from "../output/result-manifest.js";

/** What a job's work may use on this host before its engine job. */
export interface WorkPreparation {
  inputs: InputCache;
  log(line: string): void;
  signal: AbortSignal;
}

/** What a job's work may use while it runs its engine job. */
export interface WorkRun {
  engine: EngineSupervisor;
  /** The staging folder the engine writes into. */
  outputDir: string;
  /** The handlers that report the engine job's progress, status and log lines. */
  handlers: JobHandlers;
  signal: AbortSignal;
  /** Throws once the attempt has been asked to stop. */
  throwIfStopped(): void;
  /** Sets the job's phase (`downloading_lora`, …). */
  phase(phase: string): void;
  log(line: string): void;
  /** Tells the slot the engine job starts, with the model it runs. */
  engineStarts(model: string): void;
}

/**
 * The part of a slot job that depends on its kind: a generation (a task's settings through WanGP) or
 * a post-step (WanGP's late post-processing of another job's output). The JobRunner does the rest
 * the same way for both: lock, cancel, staging, fencing, publishing, the attempt's end.
 */
export interface JobWork {
  /** The output folder, relative to the main output dir. */
  readonly outputSubDir: string;
  /** Lines for the start of the job log and the manifest's notes. */
  readonly notes: readonly string[];
  /**
   * Makes the job's inputs local (URLs through the host's input cache) and checks them on this host
   * before the engine runs; throws when the job cannot run. The inputs it returns are released when
   * the job ends.
   */
  prepare(host: WorkPreparation): Promise<JobInputs | undefined>;
  run(run: WorkRun): Promise<ResultMessage>;
  /** The result manifest as this kind of job writes it (the common one, completed). */
  manifest(common: ResultManifest): ResultManifest;
  /** What task.json records. */
  readonly record: unknown;
}
