import { mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { bestEffort, type Logger, settleWithin } from "@wgp-farm/config";
import {
  CANCELLED_REASON_PREFIX,
  type CancelChannel,
  type FarmConnection,
  type FarmStats,
  type FirstFailure,
  firstFailedDependencyOf,
  type PublishClaims,
  STITCH_QUEUE,
  type StitchJobData,
  type TaskJobData,
} from "@wgp-farm/queue";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import type { InputCache } from "../inputs/input-cache.js";
import { InputFetchError } from "../inputs/input-source.js";
import type { HeldJob } from "../job/job-finisher.js";
import { LockRenewal } from "../job/lock-renewal.js";
import { JobLostError, PublishFence } from "../job/publish-fence.js";
import type { StagedOutput } from "../output/output-publisher.js";
import { makePreviews } from "../output/preview-maker.js";
import { buildSummary, type ResultSummary } from "../output/result-manifest.js";
import type { ResultStore } from "../output/result-store.js";
import type { ResolvedWorkerOptions } from "../worker-options.js";
import { stitchVideos } from "./ffmpeg-stitch.js";
import { announceFlowParent } from "./flow-parent.js";
import type { WorkPreparation } from "./job-work.js";
import { type LocalSource, localSourceFile, type SourceOutput, sourceOutput } from "./step-source.js";

/** What a StitchRunner needs from its worker process. */
export interface StitchRunnerContext {
  farm: FarmConnection;
  publisher: ResultStore;
  claims: PublishClaims;
  cancels: CancelChannel;
  stats: FarmStats;
  /** The host's input cache: sources kept in a bucket are fetched into it. */
  inputs: InputCache;
  options: Pick<
    ResolvedWorkerOptions,
    | "prefix"
    | "lockDurationMs"
    | "lockRenewMs"
    | "stalledIntervalMs"
    | "quarantineAfter"
    | "stitchConcurrency"
  >;
  /** The host part of the worker's identity. */
  host: string;
  logger: Logger;
}

/** A stitch's result.json: the summary fields, the sources in order and how they were joined. */
interface StitchManifest extends ResultSummary {
  task_id: string;
  sources: { task_id: string; file: string }[];
  stitch: { reencode: boolean; crossfade_s: number };
  attempt: number;
  /** Previews that could not be made. */
  notes: string[];
}

/** Why a running stitch was stopped: a cancel request (its reason), not a lost lock. */
class StitchCancelled extends Error {
  override name = "StitchCancelled";
}

/**
 * A stitch's stored error when a job it depends on failed: which task failed first, its error, and
 * the command that resumes the flow (the retry restores the jobs that failed because of it).
 */
function sourceFailureReason({ task_id: taskId, error }: FirstFailure): string {
  return (
    `${taskId} failed: ${error} (this stitch needs its output). ` +
    `Retry it with \`wgp-farm retry ${taskId}\`: the flow resumes from there, and the stitch runs once all its sources have completed.`
  );
}

/**
 * BullMQ fails a stitch whose source failed before its processor runs (`failParentOnFailure`'s
 * deferred failure), in its own words: "child wgp:model.t2v:seg_02 failed". This worker puts the
 * operator's words in their place first (sourceFailureReason); BullMQ still does the failing.
 */
class StitchWorker extends Worker<StitchJobData, ResultSummary> {
  readonly #ctx: Pick<StitchRunnerContext, "farm" | "logger">;

  constructor(
    ctx: Pick<StitchRunnerContext, "farm" | "logger">,
    ...args: ConstructorParameters<typeof Worker<StitchJobData, ResultSummary>>
  ) {
    super(...args);
    this.#ctx = ctx;
  }

  override async processJob(
    job: Job<StitchJobData, ResultSummary>,
    token: string,
    fetchNextCallback?: () => boolean,
  ): ReturnType<Worker<StitchJobData, ResultSummary>["processJob"]> {
    if (job.deferredFailure) {
      const explain = async () => {
        const first = await firstFailedDependencyOf(this.#ctx.farm, job);
        if (first) job.deferredFailure = sourceFailureReason(first);
      };
      await bestEffort(explain, this.#ctx.logger, "telling why a stitch's source failed", "warn");
    }
    return super.processJob(job, token, fetchNextCallback);
  }
}

function outputNameOf(taskId: string): string {
  return taskId.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 120) || "stitched";
}

/**
 * Stitch jobs, in the worker process and without a GPU slot: a BullMQ Worker on the stitch queue
 * (`stitchConcurrency` at once) reads each source's main output from its completed job, joins them
 * with ffmpeg, and publishes through the same staging, publish claim and rename as a slot's job.
 */
export class StitchRunner {
  readonly #ctx: StitchRunnerContext;
  readonly #worker: Worker<StitchJobData, ResultSummary>;
  readonly #slot: string;
  /** The running stitches by task id: a cancel request aborts its ffmpeg. */
  readonly #running = new Map<string, AbortController>();
  /** The running stitches' ends, which a closing worker gives a grace to come. */
  readonly #ends = new Set<Promise<unknown>>();

  constructor(ctx: StitchRunnerContext) {
    this.#ctx = ctx;
    this.#slot = `stitch@${ctx.host}`;
    this.#worker = new StitchWorker(ctx, STITCH_QUEUE, (job, token) => this.#tracked(this.#run(job, token)), {
      connection: ctx.farm.redis,
      prefix: ctx.options.prefix,
      name: this.#slot,
      concurrency: ctx.options.stitchConcurrency,
      lockDuration: ctx.options.lockDurationMs,
      // A dead worker's stitch comes back like a slot's job: after about the lock and a stalled
      // check (BullMQ's default check is every 30 s), and after as many deaths as a slot's job
      // survives before it is set aside (BullMQ's default fails it on the second).
      stalledInterval: ctx.options.stalledIntervalMs,
      maxStalledCount: ctx.options.quarantineAfter - 1,
      // The check itself runs in the farm's stalled-check turn (FarmWorker), once per round
      // farm-wide, with this stall limit: not one script call per process per round.
      skipStalledCheck: true,
      autorun: false,
      // Idle, each worker process's stitch worker re-blocks every `drainDelay` s (an add wakes it
      // at once): BullMQ's longest block (10 s), not its 5 s default, halves that idle cost.
      drainDelay: 10,
    });
    this.#worker.on("error", (error) => ctx.logger.warn({ err: error }, "stitch worker error"));
    // Only once BullMQ has completed the stitch is its parent (a step on the stitched video) waiting.
    this.#worker.on("completed", (job) => {
      void bestEffort(announceFlowParent(ctx.farm, job), ctx.logger, "announcing a flow's next job");
    });
  }

  /** Resolves once its Redis connections are up. */
  async ready(): Promise<void> {
    await this.#worker.waitUntilReady();
  }

  run(): void {
    void this.#worker.run();
  }

  /** Whether this process runs the stitch `taskId` now. */
  runs(taskId: string): boolean {
    return this.#running.has(taskId);
  }

  /** Stops a running stitch (its ffmpeg is killed); it fails as cancelled, without retry. */
  cancel(taskId: string, reason: string | null): void {
    this.#running.get(taskId)?.abort(new StitchCancelled(reason ?? "cancel requested"));
  }

  /**
   * Stops taking stitches and gives the running ones `graceMs` to end; then stops their ffmpeg and
   * leaves their jobs to the stalled-job check, like the jobs of a worker that died. Each wait is
   * bounded: without Redis, BullMQ's own close would wait for ever.
   */
  async close(graceMs: number, redisStepMs: number): Promise<void> {
    const { logger } = this.#ctx;
    if (this.#running.size > 0) {
      if (!(await settleWithin(Promise.allSettled(this.#ends), graceMs))) {
        logger.warn({ stitches: [...this.#running.keys()] }, "stitches did not end in time; stopping them");
        for (const stop of this.#running.values()) stop.abort(new Error("the worker is stopping"));
      }
    }
    const closed = bestEffort(this.#worker.close(true), logger, "closing the stitch worker");
    if (!(await settleWithin(closed, redisStepMs))) logger.warn("the stitch worker did not close in time");
  }

  #tracked<T>(work: Promise<T>): Promise<T> {
    this.#ends.add(work);
    return work.finally(() => this.#ends.delete(work));
  }

  async #run(job: Job<StitchJobData, ResultSummary>, token: string | undefined): Promise<ResultSummary> {
    if (!token) throw new Error("a stitch job without a lock token");
    const { publisher, options, logger, cancels } = this.#ctx;
    const startedAt = Date.now();
    const taskId = String(job.id);
    const stop = new AbortController();
    this.#running.set(taskId, stop);
    const held: HeldJob = { job: job as unknown as Job<TaskJobData>, token, queue: STITCH_QUEUE, taskId };
    const renewal = new LockRenewal(job, token, {
      lockDurationMs: options.lockDurationMs,
      renewEveryMs: options.lockRenewMs,
      onLost: (why) => stop.abort(new JobLostError(why)),
      onError: (error) => logger.warn({ err: error, task_id: taskId }, "stitch lock renewal failed"),
    }).start();
    const staged = publisher.stage({ task_id: taskId, queue: STITCH_QUEUE, token }, job.attemptsStarted <= 1);
    let published = false;
    const fetched: LocalSource[] = [];
    try {
      const requested = await cancels.requestOf(taskId);
      if (requested) this.cancel(taskId, requested.reason);
      const log = (line: string) => void bestEffort(job.log(line), logger, "logging a stitch line");
      const { sources, files } = await this.#sources(
        job.data,
        { inputs: this.#ctx.inputs, log, signal: stop.signal },
        fetched,
      );
      await job.log(`stitching ${sources.map((source) => source.task_id).join(", ")} on ${this.#slot}`);
      await staged.ready;
      await mkdir(staged.filesDir, { recursive: true });
      const target = path.join(staged.filesDir, `${outputNameOf(taskId)}.mp4`);
      const crossfadeS = job.data.crossfade_s ?? 0;
      const { reencode } = job.data;
      await stitchVideos({ files, target, workDir: staged.dir, reencode, crossfadeS }, stop.signal);
      const summary = await this.#publish(job, held, staged, { sources, target, startedAt, renewal });
      published = true;
      await bestEffort(this.#ctx.stats.increment("completed"), logger, "counting a completed stitch");
      return summary;
    } catch (error) {
      const why: unknown = stop.signal.reason;
      if (why instanceof StitchCancelled) {
        await bestEffort(
          Promise.all([cancels.clear(taskId), this.#ctx.stats.increment("cancelled")]),
          logger,
          "recording a cancelled stitch",
        );
        throw new UnrecoverableError(`${CANCELLED_REASON_PREFIX}${why.message} (stopped on ${this.#slot})`);
      }
      throw why instanceof JobLostError ? why : error;
    } finally {
      this.#running.delete(taskId);
      renewal.stop();
      await bestEffort(
        Promise.all(fetched.map((source) => source.release())),
        logger,
        "releasing stitch sources",
      );
      if (!published) await bestEffort(publisher.discard(staged), logger, "discarding stitch staging");
    }
  }

  /**
   * Each source's main output and its file on this host, in order (a result kept in a bucket is
   * fetched through the host's input cache, held in `held` until the stitch ends). A source that is
   * not completed or not there fails the stitch for good; a fetch that failed on the way is retried.
   */
  async #sources(
    data: StitchJobData,
    host: WorkPreparation,
    held: LocalSource[],
  ): Promise<{ sources: SourceOutput[]; files: string[] }> {
    if (data.sources.length === 0)
      throw new UnrecoverableError("invalid: a stitch needs at least one source");
    try {
      const sources = await Promise.all(data.sources.map((source) => sourceOutput(this.#ctx.farm, source)));
      // Every fetch settles before a failure is thrown: what was fetched is in `held`, to be released.
      const locals = await Promise.allSettled(
        sources.map(async (source) => {
          const local = await localSourceFile(source, host);
          held.push(local);
          return local.path;
        }),
      );
      const failed = locals.find((outcome) => outcome.status === "rejected");
      if (failed) throw failed.reason;
      return { sources, files: locals.map((outcome) => (outcome as PromiseFulfilledResult<string>).value) };
    } catch (error) {
      if (error instanceof InputFetchError) throw error;
      throw new UnrecoverableError(`invalid: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  async #publish(
    job: Job<StitchJobData, ResultSummary>,
    held: HeldJob,
    staged: StagedOutput,
    made: { sources: SourceOutput[]; target: string; startedAt: number; renewal: LockRenewal },
  ): Promise<ResultSummary> {
    const { publisher, claims, options, host } = this.#ctx;
    const { data } = job;
    const outputDir = await publisher.targetOf(data.output_sub_dir);
    const files = await publisher.describe(staged, [made.target]);
    const previews = await makePreviews(staged.filesDir, files, { logger: this.#ctx.logger });
    const summary = buildSummary({
      outputDir,
      files,
      previews,
      queuedAtMs: job.timestamp,
      startedAtMs: made.startedAt,
      finishedAtMs: Date.now(),
      slot: { id: this.#slot, host: host || os.hostname(), gpuIndex: -1 },
      made: { noEngine: { model_type: "stitch", main_file: path.basename(made.target) } },
    });
    const manifest: StitchManifest = {
      ...summary,
      task_id: data.task_id,
      sources: made.sources.map(({ task_id, file }) => ({ task_id, file })),
      stitch: { reencode: data.reencode, crossfade_s: data.crossfade_s ?? 0 },
      attempt: job.attemptsStarted,
      notes: previews.warnings,
    };
    const fence = new PublishFence(claims, made.renewal, held, this.#slot, options.lockDurationMs);
    await publisher.publish(
      staged,
      data.output_sub_dir,
      { "task.json": data, "result.json": manifest },
      fence,
    );
    return summary;
  }
}
