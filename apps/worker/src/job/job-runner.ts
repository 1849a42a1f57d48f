import { setImmediate as nextTurn } from "node:timers/promises";
import { bestEffort, type Logger } from "@wgp-farm/config";
import type { EngineSupervisor, ResultMessage } from "@wgp-farm/engine";
import {
  type AttemptRecord,
  dependencyFailureOf,
  type FarmConnection,
  type PublishClaims,
} from "@wgp-farm/queue";
import type { SlotPlan } from "../gpu-detection.js";
import type { InputCache } from "../inputs/input-cache.js";
import type { JobInputs } from "../inputs/job-inputs.js";
import type { StagedOutput } from "../output/output-publisher.js";
import { makePreviews } from "../output/preview-maker.js";
import { buildManifest, type ResultSummary, summarize } from "../output/result-manifest.js";
import type { ResultStore } from "../output/result-store.js";
import type { ModelWeightsGate } from "../slot/model-weights-gate.js";
import { announceFlowParent } from "../steps/flow-parent.js";
import type { JobWork } from "../steps/job-work.js";
import { SourceNotReadyError } from "../steps/step-source.js";
import { isStepJob, StepWork } from "../steps/step-work.js";
import type { ResolvedWorkerOptions } from "../worker-options.js";
import { crashesIn } from "./attempt-history.js";
import type { CausVidLora } from "./causvid-lora.js";
import { GenerationWork } from "./generation-work.js";
import { type JobReporter, stopJob, stopReasonOf } from "./job-events.js";
import { classifyFailure } from "./job-failure.js";
import { type HeldJob, type JobEnd, JobFinisher, type JobFinisherContext } from "./job-finisher.js";
import { JobProgressReporter } from "./job-progress.js";
import { LockRenewal } from "./lock-renewal.js";
import { JobLostError, PublishFence } from "./publish-fence.js";

/** What a JobRunner needs from the farm: the finisher's services, the output folder, the LoRA. */
export interface JobRunnerContext extends JobFinisherContext {
  options: Pick<ResolvedWorkerOptions, "jobLogLines" | "lockDurationMs" | "lockRenewMs">;
  publisher: ResultStore;
  /** The fencing gate every publish goes through. */
  claims: PublishClaims;
  /** Absent for the dry-run engine, which never reads LoRA files. */
  causvid: CausVidLora | undefined;
  /** Where a post-step finds its source job's result. */
  farm: FarmConnection;
  /** This host's cache of media inputs given by URL. */
  inputs: InputCache;
}

/** The slot a JobRunner runs jobs on: its GPU and its engine. */
export interface JobRunnerSlot {
  plan: SlotPlan;
  engine: EngineSupervisor;
  logger: Logger;
  /** Has one slot per host fetch a model's missing weights (absent: every job goes straight to the engine). */
  weights?: ModelWeightsGate;
}

/** One attempt being run: the job, how it can be stopped, and what it tells the slot. */
interface Attempt {
  held: HeldJob;
  stop: AbortController;
  report: JobReporter;
  progress: JobProgressReporter;
  /** What the job does: a generation or a post-step. */
  work: JobWork;
  staged: StagedOutput;
  startedAt: number;
  /** performance.now() at the start: the attempt's GPU time is measured on the monotonic clock. */
  startedMono: number;
  fence: PublishFence;
  /** The task's output folder, as the check alongside the engine resolved it (the manifest names it). */
  target?: Promise<string>;
}

class Stopped extends Error {
  override name = "Stopped";
}

/**
 * Runs one job on a slot: checks it can run here (output folder confined to the root, media
 * present), makes sure the CausVid LoRA is there when asked for, sends WanGP the task's settings,
 * reports progress and engine log lines, and publishes the result folder. Its lock is renewed all
 * along; a cancel request, a drain or a lost lock stops it through `stop`. What the slot needs to
 * know on the way (the model sent to the engine, phases, progress) goes out through `report`.
 */
export class JobRunner {
  readonly #ctx: JobRunnerContext;
  readonly #slot: JobRunnerSlot;
  readonly #logger: Logger;
  readonly #finisher: JobFinisher;

  constructor(ctx: JobRunnerContext, slot: JobRunnerSlot) {
    this.#ctx = ctx;
    this.#slot = slot;
    this.#logger = slot.logger;
    this.#finisher = new JobFinisher(ctx, slot.plan.slotId, slot.logger);
  }

  async run(held: HeldJob, stop: AbortController, report: JobReporter): Promise<JobEnd> {
    const { history, quarantine, publisher, claims, options } = this.#ctx;
    const { job, taskId } = held;
    const renewal = this.#renewLock(held, stop);
    const { slotId } = this.#slot.plan;
    // A first attempt has no history, no quarantine count and no earlier staging folder: nothing
    // but the media check stands between the fetch and the engine.
    const firstAttempt = job.attemptsStarted <= 1 && !job.stalledCounter;
    const attempt: Attempt = {
      held,
      stop,
      report,
      progress: this.#progressOf(held, report),
      work: this.#workOf(job.data),
      staged: publisher.stage({ task_id: taskId, queue: held.queue, token: held.token }, firstAttempt),
      startedAt: Date.now(),
      startedMono: performance.now(),
      fence: new PublishFence(claims, renewal, held, slotId, options.lockDurationMs),
    };
    let published = false;
    let inputs: JobInputs | undefined;
    // Recording the attempt overlaps with the job; it is awaited before the job ends.
    let begun: Promise<AttemptRecord[]> = Promise.resolve([]);
    try {
      const previous = firstAttempt ? [] : await history.read(taskId);
      const incidents = { stalls: job.stalledCounter ?? 0, crashes: crashesIn(previous) };
      if (quarantine.due(incidents)) {
        const attempts = await history.begin(taskId, slotId, previous);
        return await this.#finisher.quarantined(held, incidents, attempts);
      }
      // A job whose dependency failed (BullMQ's deferred failure) fails without running.
      const dependencyFailed = await dependencyFailureOf(this.#ctx.farm, job);
      if (dependencyFailed) throw new SourceNotReadyError(dependencyFailed);
      const log = (line: string) => attempt.progress.log(line);
      inputs = await attempt.work.prepare({ inputs: this.#ctx.inputs, log, signal: stop.signal });
      const generation = this.#runEngine(attempt);
      begun = this.#alongsideEngine(attempt, previous);
      // Awaited once the job ends (and on every way out); until then a failure must not go unhandled.
      begun.catch(() => undefined);
      const result = await generation;
      if (stopReasonOf(stop)?.kind === "lock-lost") throw new Stopped();
      attempt.progress.phase("publishing");
      const summary = await this.#publish(attempt, result);
      published = true;
      await Promise.all([attempt.progress.flush(), begun]);
      const end = await this.#finisher.completed(held, summary);
      await bestEffort(announceFlowParent(this.#ctx.farm, job), this.#logger, "announcing a flow's next job");
      return end;
    } catch (error) {
      return await this.#ended(attempt, error, begun);
    } finally {
      renewal.stop();
      if (!published) await bestEffort(publisher.discard(attempt.staged), this.#logger, "discarding staging");
      await bestEffort(async () => inputs?.release(), this.#logger, "releasing the job's cached inputs");
    }
  }

  /** A post-step's data (`kind: "step"`) runs WanGP's late post-processing; any other job is a generation. */
  #workOf(data: unknown): JobWork {
    if (isStepJob(data)) return new StepWork(data, this.#ctx.farm);
    return new GenerationWork(
      data as HeldJob["job"]["data"],
      this.#ctx.causvid,
      this.#slot.weights,
      this.#ctx.farm,
    );
  }

  /**
   * Where an attempt that did not complete goes: nowhere when it lost its job (another attempt owns
   * the job and its record now), else as its stop reason says, else as a failure.
   */
  async #ended(attempt: Attempt, error: unknown, begun: Promise<AttemptRecord[]>): Promise<JobEnd> {
    const { held, progress } = attempt;
    const recorded = begun.catch((failure: unknown): AttemptRecord[] => {
      this.#logger.warn({ err: failure, task_id: held.taskId }, "recording the attempt failed");
      return [];
    });
    // Judged and logged before anything waits on Redis, which may be out of reach (a partition).
    const lostWhy = this.#lostWhy(attempt, error);
    const gpuMs = Math.round(performance.now() - attempt.startedMono);
    if (lostWhy !== undefined) {
      this.#logger.warn(
        { task_id: held.taskId, why: lostWhy, wasted_gpu_ms: gpuMs },
        "job lost to another attempt; its engine job has stopped and its output is discarded",
      );
    }
    const [attempts] = await Promise.all([recorded, progress.flush()]);
    if (lostWhy !== undefined) return await this.#finisher.lost(held, attempts.at(-1), lostWhy, gpuMs);
    const reason = stopReasonOf(attempt.stop);
    if (reason?.kind === "cancel") return await this.#finisher.cancelled(held, reason.reason, attempts);
    if (reason?.kind === "requeue") return await this.#finisher.requeued(held, attempts, reason.why);
    const failure = classifyFailure(reason?.kind === "invalid" ? reason.error : error);
    return await this.#finisher.failed(held, failure, attempts, progress);
  }

  /** Why the attempt no longer owns its job, or undefined while it does. */
  #lostWhy({ stop, fence }: Attempt, error: unknown): string | undefined {
    const reason = stopReasonOf(stop);
    if (reason?.kind === "lock-lost") return reason.why;
    if (error instanceof JobLostError) return error.message;
    // Ending any other way (failed, cancelled, requeued) needs the job too.
    if (!fence.holdsJob) return "the lock was not renewed for a lock duration (a freeze or a partition)";
    return undefined;
  }

  #progressOf(held: HeldJob, report: JobReporter): JobProgressReporter {
    return new JobProgressReporter(held.job, {
      slotId: this.#slot.plan.slotId,
      maxLogLines: this.#ctx.options.jobLogLines,
      logger: this.#logger,
      onProgress: (progress) => report({ type: "progress", progress }),
    });
  }

  #renewLock({ job, token, taskId }: HeldJob, stop: AbortController): LockRenewal {
    const { options, cancels } = this.#ctx;
    return new LockRenewal(job, token, {
      lockDurationMs: options.lockDurationMs,
      renewEveryMs: options.lockRenewMs,
      onLost: (why) => stopJob(stop, { kind: "lock-lost", why }),
      // The pub/sub message may have been missed (reconnect): the flag is checked on every renewal too.
      onRenewed: async () => {
        const request = await cancels.requestOf(taskId);
        if (request) stopJob(stop, { kind: "cancel", reason: request.reason });
      },
      onError: (error) => this.#logger.warn({ err: error, task_id: taskId }, "lock renewal failed"),
    }).start();
  }

  /**
   * What need not hold the engine back runs once the generate command is on its way: recording the
   * attempt (returned), a cancel requested just before the fetch (later ones arrive by pub/sub and
   * lock renewals), the output confinement check (again when publishing: a symlink that leads outside
   * the root stops the job as invalid) and the attempt's first log lines.
   */
  async #alongsideEngine(attempt: Attempt, previous: AttemptRecord[]): Promise<AttemptRecord[]> {
    const { history, cancels, publisher } = this.#ctx;
    const { held, stop, progress, work } = attempt;
    const { plan: slot } = this.#slot;
    await nextTurn();
    const begun = history.begin(held.taskId, slot.slotId, previous);
    cancels.requestOf(held.taskId).then(
      (request) => request && stopJob(stop, { kind: "cancel", reason: request.reason }),
      (error: unknown) => this.#logger.debug({ err: error }, "reading the cancel flag failed"),
    );
    attempt.target = publisher.targetOf(work.outputSubDir);
    attempt.target.catch((error: unknown) => stopJob(stop, { kind: "invalid", error }));
    const gpuName = slot.gpuName ? ` ${slot.gpuName}` : "";
    progress.log(`attempt ${held.job.attemptsStarted} on ${slot.slotId} (GPU ${slot.gpuIndex}${gpuName})`);
    for (const note of work.notes) progress.log(note);
    return begun;
  }

  /** The job's engine work, reporting its progress, status and log lines. */
  async #runEngine({ stop, report, progress, work, staged }: Attempt): Promise<ResultMessage> {
    const throwIfStopped = () => {
      if (stop.signal.aborted) throw new Stopped();
    };
    throwIfStopped();
    return work.run({
      engine: this.#slot.engine,
      outputDir: staged.filesDir,
      signal: stop.signal,
      throwIfStopped,
      phase: (phase) => progress.phase(phase),
      log: (line) => progress.log(line),
      engineStarts: (model) => report({ type: "engine-job", model }),
      handlers: {
        signal: stop.signal,
        onProgress: (message) => {
          report({ type: "phase", phase: message.phase });
          progress.engineProgress(message);
        },
        onStatus: (message) => {
          if (/^Loading model/i.test(message.text)) report({ type: "phase", phase: "loading_model" });
          progress.log(message.text);
        },
        onLog: (message) => progress.log(message.stream === "info" ? `info: ${message.line}` : message.line),
      },
    });
  }

  async #publish(
    { held, work, staged, startedAt, fence, target }: Attempt,
    result: ResultMessage,
  ): Promise<ResultSummary> {
    const { publisher } = this.#ctx;
    const { plan: slot, engine } = this.#slot;
    const { job } = held;
    // Resolved once more, through the symlinks as they are then, right before the rename (`publish`).
    const outputDir = await (target ?? publisher.targetOf(work.outputSubDir));
    const files = await publisher.describe(staged, result.files);
    const previews = await makePreviews(staged.filesDir, files, { logger: this.#slot.logger });
    const notes = [
      ...work.notes,
      ...job.data.import.warnings.map((w) => `import: ${w.path} ${w.message}`.trim()),
    ];
    const common = buildManifest({
      taskId: held.taskId,
      outputDir,
      files,
      result,
      notes,
      causvid: false,
      attempt: job.attemptsStarted,
      queuedAtMs: job.timestamp,
      startedAtMs: startedAt,
      finishedAtMs: Date.now(),
      slot: {
        id: slot.slotId,
        host: slot.host,
        gpuIndex: slot.gpuIndex,
        gpuName: slot.gpuName ?? engine.readyInfo?.gpu?.name ?? null,
      },
      engine: engine.readyInfo,
      previews,
    });
    const manifest = work.manifest(common);
    await publisher.publish(
      staged,
      work.outputSubDir,
      { "task.json": work.record, "result.json": manifest },
      fence,
    );
    return summarize(manifest);
  }
}
