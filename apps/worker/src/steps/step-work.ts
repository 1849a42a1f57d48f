import type { PostprocessRequest, ResultMessage } from "@wgp-farm/engine";
import { type FarmConnection, type PostStep, postStepModelType, type StepJobData } from "@wgp-farm/queue";
import type { JobInputs } from "../inputs/job-inputs.js";
import type { ResultManifest } from "../output/result-manifest.js";
import type { JobWork, WorkPreparation, WorkRun } from "./job-work.js";
import { localSourceFile, type SourceOutput, sourceOutput } from "./step-source.js";

/** Whether a slot job is a post-step (its data is StepJobData) rather than a generation. */
export function isStepJob(data: unknown): data is StepJobData {
  return typeof data === "object" && data !== null && (data as { kind?: unknown }).kind === "step";
}

/** WanGP's late post-processing call (and its values) for one post-step. */
export function postprocessCallOf(step: PostStep): Pick<PostprocessRequest, "call" | "params"> {
  switch (step.kind) {
    case "upscale":
      return { call: "media_postprocessing", params: { spatial_upsampling: step.spatial_upsampling } };
    case "interpolate":
      return { call: "media_postprocessing", params: { temporal_upsampling: step.temporal_upsampling } };
    case "film_grain":
      return {
        call: "media_postprocessing",
        params: { film_grain_intensity: step.intensity, film_grain_saturation: step.saturation },
      };
    case "soundtrack":
      return {
        call: "audio_remux",
        params: {
          postprocess_audio: step.postprocess_audio,
          ...(step.audio_source === undefined ? {} : { audio_source: step.audio_source }),
          ...(step.prompt === undefined ? {} : { postprocess_audio_prompt: step.prompt }),
        },
      };
  }
}

/**
 * A post-step: WanGP's late post-processing of its source job's main output, on a GPU slot, through
 * the slot's engine (one WanGP session). The source must be completed; its file on this host or in a bucket.
 * It never goes through the model-weights gate: `post.<kind>` is no WanGP model.
 */
export class StepWork implements JobWork {
  readonly record: StepJobData;
  readonly notes: readonly string[] = [];
  readonly #farm: FarmConnection;
  #source: SourceOutput | undefined;
  /** The source's main file on this host (a cached copy for a result kept in a bucket). */
  #sourceFile: string | undefined;

  constructor(data: StepJobData, farm: FarmConnection) {
    this.record = data;
    this.#farm = farm;
  }

  get outputSubDir(): string {
    return this.record.output_sub_dir;
  }

  /**
   * A post-step's input is its source job's main file: on this host already (a shared output folder),
   * or, for a result kept in a bucket, fetched through the host's input cache and held until the end.
   */
  async prepare(host: WorkPreparation): Promise<JobInputs | undefined> {
    const source = await sourceOutput(this.#farm, this.record.source);
    this.#source = source;
    const local = await localSourceFile(source, host);
    this.#sourceFile = local.path;
    return local;
  }

  run(run: WorkRun): Promise<ResultMessage> {
    const source = this.#sourceFile;
    if (!source) throw new Error("StepWork.run before prepare");
    const { task_id, step } = this.record;
    run.engineStarts(postStepModelType(step.kind));
    const request = {
      id: task_id,
      source,
      outputDir: run.outputDir,
      ...postprocessCallOf(step),
    };
    return run.engine.postprocess(request as PostprocessRequest, run.handlers);
  }

  manifest(common: ResultManifest): ResultManifest {
    const { root_task_id, index, step } = this.record;
    const manifest: ResultManifest & { source: SourceOutput | undefined; step: object } = {
      ...common,
      model_type: postStepModelType(step.kind),
      source: this.#source,
      step: { root_task_id, index, ...step },
    };
    return manifest;
  }
}
