import type { Logger } from "@wgp-farm/config";
import type { EngineSupervisor, ReadyMessage, ResultMessage } from "@wgp-farm/engine";
import type { AttemptRecord, JobProgress } from "@wgp-farm/queue";
import { toWanGPSettings, type WanGPSettingsPlan } from "@wgp-farm/tasks";
import type { SlotPlan } from "../gpu-detection.js";
import type { StagedOutput } from "../output/output-publisher.js";
import { buildManifest, summarize } from "../output/result-manifest.js";
import { crashesIn } from "./attempt-history.js";
import { classifyFailure } from "./job-failure.js";
import { type HeldJob, type JobEnd, JobFinisher } from "./job-finisher.js";
import { JobProgressReporter } from "./job-progress.js";
import { LockRenewal } from "./lock-renewal.js";
import { checkMediaOnHost } from "./media-check.js";
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
    const plan = toWanGPSettings(job.data.task);
    // A first attempt has no history, no quarantine count and no earlier staging folder: nothing
    // but the media check stands between the fetch and the engine.
    const firstAttempt = job.attemptsStarted <= 1 && !job.stalledCounter;
    const staged = ctx.publisher.stage(
      { task_id: taskId, queue: held.queue, token: held.token },
      firstAttempt,
    );
    let published = false;
    // Recording the attempt overlaps with the job; it is awaited before the job ends.
    let begun: Promise<AttemptRecord[]> = Promise.resolve([]);
    try {
      const previous = firstAttempt ? [] : await ctx.history.read(taskId);
      const incidents = { stalls: job.stalledCounter ?? 0, crashes: crashesIn(previous) };
      if (ctx.quarantine.due(incidents)) {
        const attempts = await ctx.history.begin(taskId, slot.plan.slotId, previous);
        return await this.#finisher.quarantined(held, incidents, attempts);
      }
      await checkMediaOnHost(plan.settings);
      const generation = this.#generate(held, plan, staged, progress, stop);
      // What need not hold the engine back runs once the generate command is on its way.
      const engineStarted = new Promise<void>((resolve) => setImmediate(resolve));
      begun = engineStarted.then(() => ctx.history.begin(taskId, slot.plan.slotId, previous));
      begun.catch(() => undefined);
      void engineStarted.then(() => {
        // A cancel requested just before the fetch (later ones arrive by pub/sub and lock renewals).
        ctx.cancels.requestOf(taskId).then(
          (request) => request && abort({ kind: "cancel", reason: request.reason }),
          () => undefined,
        );
        // Output confinement is checked alongside the engine (and again when publishing): a symlink
        // that leads outside the root stops the job as invalid.
        ctx.publisher
          .targetOf(job.data.task.output_sub_dir)
          .catch((error: unknown) => abort({ kind: "invalid", error }));
        const gpuName = slot.plan.gpuName ? ` ${slot.plan.gpuName}` : "";
        progress.log(
          `attempt ${job.attemptsStarted} on ${slot.plan.slotId} (GPU ${slot.plan.gpuIndex}${gpuName})`,
        );
        for (const note of plan.notes) progress.log(note);
      });
      const result = await generation;
      if (stop.signal.reason?.kind === "lock-lost") throw new Stopped();
      progress.phase("publishing");
      const summary = await this.#publish(held, plan, result, staged, startedAt);
      published = true;
      await Promise.all([progress.flush(), begun]);
      return await this.#finisher.completed(held, summary);
    } catch (error) {
      const [attempts] = await Promise.all([begun.catch(() => [] as AttemptRecord[]), progress.flush()]);
      const reason = stop.signal.aborted ? (stop.signal.reason as StopReason) : undefined;
      if (reason?.kind === "lock-lost") {
        this.logger.warn({ task_id: taskId, why: reason.why }, "job lost; another slot will run it");
        return { kind: "lock-lost", message: reason.why };
      }
      if (reason?.kind === "cancel") return await this.#finisher.cancelled(held, reason.reason, attempts);
      if (reason?.kind === "requeue") return await this.#finisher.requeued(held, attempts, reason.why);
      const failure = classifyFailure(reason?.kind === "invalid" ? reason.error : error);
      return await this.#finisher.failed(held, failure, attempts, progress);
    } finally {
      renewal.stop();
      if (!published) await ctx.publisher.discard(staged).catch(() => undefined);
    }
  }

  /** The CausVid LoRA when the task asks for it, then the engine job. */
  async #generate(
    held: HeldJob,
    plan: WanGPSettingsPlan,
    staged: StagedOutput,
    progress: JobProgressReporter,
    stop: AbortController,
  ): Promise<ResultMessage> {
    const { ctx, slot } = this;
    const { task } = held.job.data;
    const throwIfStopped = () => {
      if (stop.signal.aborted) throw new Stopped();
    };
    throwIfStopped();
    if (plan.causvid && ctx.causvid) {
      progress.phase("downloading_lora");
      await ctx.causvid.ensure(task.model, (line) => progress.log(line));
      throwIfStopped();
    }
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
