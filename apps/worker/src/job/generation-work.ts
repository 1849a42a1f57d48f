import type { ResultMessage } from "@wgp-farm/engine";
import { type FarmConnection, resolveOutputRefs, type TaskJobData } from "@wgp-farm/queue";
import { toWanGPSettings, type WanGPSettingsPlan } from "@wgp-farm/tasks";
import { type JobInputs, localizeJobInputs } from "../inputs/job-inputs.js";
import type { ResultManifest } from "../output/result-manifest.js";
import type { ModelWeightsGate } from "../slot/model-weights-gate.js";
import { plannedChain } from "../steps/chain-plan.js";
import type { JobWork, WorkPreparation, WorkRun } from "../steps/job-work.js";
import { SourceNotReadyError } from "../steps/step-source.js";
import { type CausVidLora, loraDirOf } from "./causvid-lora.js";
import { checkMediaOnHost } from "./media-check.js";

/** File stem of the generated video: the task id, reduced to what every file system accepts. */
function outputNameOf(taskId: string): string {
  return taskId.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 120) || "output";
}

/**
 * A generation: the task's settings through WanGP. Checks its media on this host, fetches the
 * CausVid LoRA when the task asks for it, and runs the engine job behind the model-weights gate.
 */
export class GenerationWork implements JobWork {
  readonly record: TaskJobData;
  #plan: WanGPSettingsPlan;
  readonly #causvid: CausVidLora | undefined;
  readonly #weights: ModelWeightsGate | undefined;
  readonly #farm: FarmConnection;

  constructor(
    data: TaskJobData,
    causvid: CausVidLora | undefined,
    weights: ModelWeightsGate | undefined,
    farm: FarmConnection,
  ) {
    this.record = data;
    this.#plan = toWanGPSettings(data.task);
    this.#causvid = causvid;
    this.#weights = weights;
    this.#farm = farm;
  }

  get outputSubDir(): string {
    return this.record.task.output_sub_dir;
  }

  get notes(): readonly string[] {
    return this.#plan.notes;
  }

  /**
   * `{"from": task}` media values become the files those tasks published (they completed: the flow
   * waited), URL inputs become files of this host's input cache, and then every media file is checked.
   */
  async prepare(host: WorkPreparation): Promise<JobInputs> {
    const { task, problems } = await resolveOutputRefs(this.#farm, this.record.task);
    if (problems.length > 0) throw new SourceNotReadyError(problems.join("; "));
    if (task !== this.record.task) this.#plan = toWanGPSettings(task);
    const inputs = await localizeJobInputs(this.#plan, host.inputs, host.log, host.signal);
    try {
      await checkMediaOnHost(this.#plan.settings);
    } catch (error) {
      await inputs.release();
      throw error;
    }
    return inputs;
  }

  async run(run: WorkRun): Promise<ResultMessage> {
    const { task } = this.record;
    if (this.#plan.causvid && this.#causvid) {
      run.phase("downloading_lora");
      const loraDir = await loraDirOf(run.engine, task.model);
      await this.#causvid.ensure(task.model, run.log, loraDir);
      run.throwIfStopped();
    }
    run.engineStarts(task.model);
    const engineJob = () =>
      run.engine.generate(
        {
          id: task.task_id,
          settings: this.#plan.settings,
          outputDir: run.outputDir,
          outputName: outputNameOf(task.task_id),
        },
        run.handlers,
      );
    return this.#weights ? this.#weights.around(task.model, engineJob, run.log, run.signal) : engineJob();
  }

  manifest(common: ResultManifest): ResultManifest {
    const chain = plannedChain(this.record.task);
    const manifest: ResultManifest & { chain?: typeof chain } = { ...common, causvid: this.#plan.causvid };
    if (chain.length > 0) manifest.chain = chain;
    return manifest;
  }
}
