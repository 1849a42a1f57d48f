import type { Logger } from "@wgp-farm/config";
import type { EngineSupervisor, ReadyMessage, ResultMessage } from "@wgp-farm/engine";
import type { AttemptRecord, JobProgress } from "@wgp-farm/queue";
import { toWanGPSettings, type WanGPSettingsPlan } from "@wgp-farm/tasks";
import { crashesIn } from "./attempt-history.js";
import type { SlotPlan } from "./gpu-detection.js";
import { classifyFailure } from "./job-failure.js";
import { type HeldJob, type JobEnd, JobFinisher } from "./job-finisher.js";
import { JobProgressReporter } from "./job-progress.js";
import { LockRenewal } from "./lock-renewal.js";
import { checkMediaOnHost } from "./media-check.js";
import type { StagedOutput } from "./output-publisher.js";
import { buildManifest, summarize } from "./result-manifest.js";
import type { SlotContext, StopReason } from "./slot-context.js";

/** What a job needs from the slot running it. */
export interface SlotSide {
  plan: SlotPlan;
  engine(): EngineSupervisor;
  engineInfo(): ReadyMessage | undefined;
  /** The job is about to reach the engine with this model. */
  onEngineJob(model: string): void;
  /** The engine reports a phase (`loading_model` puts the slot in state loading). */
  onPhase(phase: string): void;
  onProgress(progress: JobProgress): void;
}

class Stopped extends Error {
  override name = "Stopped";
}

/** File stem of the generated video: the task id, reduced to what every file system accepts. */
function outputNameOf(taskId: string): string {
  return taskId.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 120) || "output";
}

/**
 * Runs one job on a slot: checks it can run here (output folder confined to the root, media
 * present), makes sure the CausVid LoRA is there when asked for, sends WanGP the task's settings,
 * reports progress and engine log lines, and publishes the result folder. Its lock is renewed all
 * along; a cancel request, a drain or a lost lock stops it through `stop`.
 */
export class JobRunner {
  readonly #finisher: JobFinisher;

  constructor(
    private readonly ctx: SlotContext,
    private readonly slot: SlotSide,
    private readonly logger: Logger,
  ) {
    this.#finisher = new JobFinisher(ctx, slot.plan.slotId, logger);
  }

  async run(held: HeldJob, stop: AbortController): Promise<JobEnd> {
    const { ctx, slot } = this;
    const { job, taskId } = held;
    const startedAt = Date.now();
    const progress = new JobProgressReporter(job, {
      slotId: slot.plan.slotId,
      maxLogLines: ctx.options.jobLogLines,
      logger: this.logger,
      onProgress: (value) => slot.onProgress(value),
    });
    const abort = (reason: StopReason) => {
      if (!stop.signal.aborted) stop.abort(reason);
    };
    const renewal = new LockRenewal(job, held.token, {
      lockDurationMs: ctx.options.lockDurationMs,
      renewEveryMs: ctx.options.lockRenewMs,
      onLost: (why) => abort({ kind: "lock-lost", why }),
      // The pub/sub message may have been missed (reconnect): the flag is checked on every renewal too.
      onRenewed: async () => {
        const request = await ctx.cancels.requestOf(taskId);
        if (request) abort({ kind: "cancel", reason: request.reason });
      },
      onError: (error) => this.logger.warn({ err: error, task_id: taskId }, "lock renewal failed"),
    }).start();
    let staged: StagedOutput | undefined;
    let published = false;
    let attempts: AttemptRecord[] = [];
    try {
      const [request, previous] = await Promise.all([
        ctx.cancels.requestOf(taskId),
        ctx.history.read(taskId),
      ]);
      if (request) abort({ kind: "cancel", reason: request.reason });
      const incidents = { stalls: job.stalledCounter ?? 0, crashes: crashesIn(previous) };
      attempts = await ctx.history.begin(taskId, slot.plan.slotId, previous);
      if (!stop.signal.aborted && ctx.quarantine.due(incidents)) {
        return await this.#finisher.quarantined(held, incidents, attempts);
      }
      progress.log(
        `attempt ${job.attemptsStarted} on ${slot.plan.slotId} (GPU ${slot.plan.gpuIndex}${slot.plan.gpuName ? ` ${slot.plan.gpuName}` : ""})`,
      );
      const plan = toWanGPSettings(job.data.task);
      const result = await this.#generate(held, plan, progress, stop, (value) => {
        staged = value;
      });
      if (stop.signal.reason?.kind === "lock-lost") throw new Stopped();
      progress.phase("publishing");
      const summary = await this.#publish(held, plan, result, staged as StagedOutput, startedAt);
      published = true;
      await progress.flush();
      return await this.#finisher.completed(held, summary);
    } catch (error) {
      await progress.flush();
      const reason = stop.signal.aborted ? (stop.signal.reason as StopReason) : undefined;
      if (reason?.kind === "lock-lost") {
        this.logger.warn({ task_id: taskId, why: reason.why }, "job lost; another slot will run it");
        return { kind: "lock-lost", message: reason.why };
      }
      if (reason?.kind === "cancel") return await this.#finisher.cancelled(held, reason.reason, attempts);
      if (reason?.kind === "requeue") return await this.#finisher.requeued(held, attempts, reason.why);
      return await this.#finisher.failed(held, classifyFailure(error), attempts, progress);
    } finally {
      renewal.stop();
      if (staged && !published) await ctx.publisher.discard(staged).catch(() => undefined);
    }
  }

  /** Everything up to the engine's result: checks, CausVid, staging, the engine job. */
  async #generate(
    held: HeldJob,
    plan: WanGPSettingsPlan,
    progress: JobProgressReporter,
    stop: AbortController,
    onStaged: (staged: StagedOutput) => void,
  ): Promise<ResultMessage> {
    const { ctx, slot } = this;
    const { task } = held.job.data;
    const throwIfStopped = () => {
      if (stop.signal.aborted) throw new Stopped();
    };
    throwIfStopped();
    for (const note of plan.notes) progress.log(note);
    await ctx.publisher.targetOf(task.output_sub_dir);
    await checkMediaOnHost(plan.settings);
    if (plan.causvid && ctx.causvid) {
      progress.phase("downloading_lora");
      await ctx.causvid.ensure(task.model, (line) => progress.log(line));
    }
    throwIfStopped();
    const staged = await ctx.publisher.stage({ task_id: held.taskId, queue: held.queue, token: held.token });
    onStaged(staged);
    slot.onEngineJob(task.model);
    return slot.engine().generate(
      {
        id: held.taskId,
        settings: plan.settings,
        outputDir: staged.filesDir,
        outputName: outputNameOf(held.taskId),
      },
      {
        signal: stop.signal,
        onProgress: (message) => {
          slot.onPhase(message.phase);
          progress.engineProgress(message);
        },
        onStatus: (message) => {
          if (/^Loading model/i.test(message.text)) slot.onPhase("loading_model");
          progress.log(message.text);
        },
        onLog: (message) => progress.log(message.stream === "info" ? `info: ${message.line}` : message.line),
      },
    );
  }

  async #publish(
    held: HeldJob,
    plan: WanGPSettingsPlan,
    result: ResultMessage,
    staged: StagedOutput,
    startedAt: number,
  ) {
    const { ctx, slot } = this;
    const { job } = held;
    const { task } = job.data;
    const outputDir = await ctx.publisher.targetOf(task.output_sub_dir);
    const files = await ctx.publisher.describe(staged, result.files);
    const notes = [
      ...plan.notes,
      ...job.data.import.warnings.map((w) => `import: ${w.path} ${w.message}`.trim()),
    ];
    const manifest = buildManifest({
      taskId: held.taskId,
      outputDir,
      files,
      result,
      notes,
      causvid: plan.causvid,
      attempt: job.attemptsStarted,
      queuedAtMs: job.timestamp,
      startedAtMs: startedAt,
      finishedAtMs: Date.now(),
      slot: {
        id: slot.plan.slotId,
        host: slot.plan.host,
        gpuIndex: slot.plan.gpuIndex,
        gpuName: slot.plan.gpuName ?? slot.engineInfo()?.gpu?.name ?? null,
      },
      engine: slot.engineInfo(),
    });
    await ctx.publisher.publish(staged, task.output_sub_dir, {
      "task.json": job.data,
      "result.json": manifest,
    });
    return summarize(manifest);
  }
}
