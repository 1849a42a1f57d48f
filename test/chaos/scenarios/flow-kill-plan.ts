/**
 * The flows of the flow-kill scenario, as a task file and as the jobs the end check expects. Each
 * flow has three parts: a chain of segments, each continuing the one before (`{"from"}`), joined by
 * a re-encoding stitch that is then interpolated; segments side by side, each with a film-grain
 * post-step, joined by a stream-copy stitch over the grained outputs (the fan-in); and a take that is
 * upscaled, then interpolated. Some flows carry a segment told to fail in WanGP on every attempt.
 */
import {
  modelQueueName,
  type PostStepKind,
  postStepModelType,
  STITCH_QUEUE,
  stepJobId,
  stepOutputSubDir,
} from "@wgp-farm/queue";

export type FlowJobKind = "segment" | "step" | "stitch";

/** One job of the scenario's flows and what the end check verifies about it. */
export interface PlannedJob {
  id: string;
  kind: FlowJobKind;
  queue: string;
  outputSubDir: string;
  /** A post-step's kind and the job whose output it works on. */
  step?: { kind: PostStepKind; source: string };
  /** A stitch's sources in order: the jobs whose outputs it joins. */
  sources?: string[];
  /** The segment whose output a continuing segment was given. */
  continues?: string;
  /** Set when the job must fail: the reason it must end with. */
  failure?: RegExp;
  /** For a job that fails because a segment told to fail did: that segment. */
  cause?: string;
}

export interface FlowPlan {
  /** The task file, in the order it is imported. */
  tasks: Record<string, unknown>[];
  jobs: PlannedJob[];
  flows: number;
  /** Segments told to fail in WanGP on every attempt. */
  toldToFail: number;
}

export interface FlowSizes {
  flows: number;
  /** Segments of each chain. */
  chain: number;
  /** Segments side by side in each fan-in. */
  fan: number;
  steps: number;
}

export const GENERATION_MODEL = "t2v";
const GRAIN = { film_grain: 0.1 };
const UPSCALE = { upscale: "lanczos2" };
const RIFE = { interpolate: "rife2" };
/** A segment told to fail ends with WanGP's error (or a kill of its engine on its last attempt). */
export const TOLD_TO_FAIL = /^(engine error|engine crashed): /;
/**
 * A job that depends on a failed one fails without running: `<job> failed: <its reason>` from a slot,
 * BullMQ's `child <key> failed` from a stitch runner (the flow check follows it to the cause).
 */
const DEPENDENCY_FAILED = / failed($|: )/;

type ThenEntry = Record<string, string | number>;

function stepKindOf(entry: ThenEntry): PostStepKind {
  return Object.keys(entry)[0] as PostStepKind;
}

class FlowPlanner {
  readonly tasks: Record<string, unknown>[] = [];
  readonly jobs: PlannedJob[] = [];
  toldToFail = 0;
  readonly #sizes: FlowSizes;

  constructor(sizes: FlowSizes) {
    this.#sizes = sizes;
  }

  /**
   * One segment (a generation) with its `then` steps; returns the job whose output it gives (its last
   * step). `told`: WanGP fails it on every attempt; `failedBy`: the segment told to fail that a
   * segment it continues is, or depends on.
   */
  segment(
    id: string,
    n: number,
    options: { told?: boolean; failedBy?: string; continues?: string; steps?: ThenEntry[] },
  ): string {
    const { told = false, failedBy, continues, steps: then = [] } = options;
    if (told) this.toldToFail += 1;
    this.tasks.push({
      task_id: id,
      prompt: `a paper boat on a canal, part ${n}${told ? " [fake:error]" : ""}`,
      model: GENERATION_MODEL,
      resolution: "64x48",
      frames: 9 + 4 * (n % 3),
      steps: this.#sizes.steps,
      seed: n,
      ...(continues ? { depends_on: [continues], video_source: { from: continues } } : {}),
      ...(then.length > 0 ? { then } : {}),
    });
    const job: PlannedJob = {
      id,
      kind: "segment",
      queue: modelQueueName(GENERATION_MODEL),
      outputSubDir: id,
      ...(continues ? { continues } : {}),
      ...(told ? { failure: TOLD_TO_FAIL } : failedBy ? { failure: DEPENDENCY_FAILED, cause: failedBy } : {}),
    };
    return this.#withSteps(job, then, told ? id : failedBy);
  }

  /**
   * A stitch over the tasks `from`, in order; `sources`: the jobs whose outputs that names (a task's
   * last step when it has a chain); `failedBy`: the segment told to fail among them (or below them).
   */
  stitch(
    id: string,
    from: readonly string[],
    sources: readonly string[],
    options: { reencode: boolean; failedBy: string | undefined; steps?: ThenEntry[] },
  ): void {
    const then = options.steps ?? [];
    this.tasks.push({
      task_id: id,
      stitch: { from, reencode: options.reencode },
      ...(then.length > 0 ? { then } : {}),
    });
    const job: PlannedJob = {
      id,
      kind: "stitch",
      queue: STITCH_QUEUE,
      outputSubDir: id,
      sources: [...sources],
      ...(options.failedBy ? { failure: DEPENDENCY_FAILED, cause: options.failedBy } : {}),
    };
    this.#withSteps(job, then, options.failedBy);
  }

  /**
   * Adds the job and its post-steps, each on the output of the one before. A `{"from": task}` names
   * the task's last step, so its id is the one returned. The steps of a failing job fail after it,
   * because of `cause`.
   */
  #withSteps(job: PlannedJob, then: readonly ThenEntry[], cause: string | undefined): string {
    this.jobs.push(job);
    let output = job.id;
    for (const [i, entry] of then.entries()) {
      const kind = stepKindOf(entry);
      const id = stepJobId(job.id, i + 1, kind);
      this.jobs.push({
        id,
        kind: "step",
        queue: modelQueueName(postStepModelType(kind)),
        outputSubDir: stepOutputSubDir(job.outputSubDir, i + 1, kind),
        step: { kind, source: output },
        ...(cause ? { failure: DEPENDENCY_FAILED, cause } : {}),
      });
      output = id;
    }
    return output;
  }
}

/**
 * The scenario's flows. Flow f's chain has its second segment told to fail when f % 3 is 2 (the
 * segments after it, the stitch and its step then fail with its reason), and its fan-in has its
 * second segment told to fail when f % 3 is 1 (its step and the stitch fail, the other segments and
 * their steps complete).
 */
export function planFlows(sizes: FlowSizes): FlowPlan {
  const planner = new FlowPlanner(sizes);
  for (let f = 0; f < sizes.flows; f += 1) {
    const chain: string[] = [];
    let chainCause: string | undefined;
    for (let k = 1; k <= sizes.chain; k += 1) {
      const id = `f${f}-chain-${k}`;
      const told = f % 3 === 2 && k === 2;
      const continues = chain.at(-1);
      chain.push(
        planner.segment(id, k, {
          told,
          ...(chainCause ? { failedBy: chainCause } : {}),
          ...(continues ? { continues } : {}),
        }),
      );
      if (told) chainCause = id;
    }
    planner.stitch(`f${f}-chain`, chain, chain, { reencode: true, failedBy: chainCause, steps: [RIFE] });

    const fan: string[] = [];
    const grained: string[] = [];
    let fanCause: string | undefined;
    for (let k = 1; k <= sizes.fan; k += 1) {
      const id = `f${f}-fan-${k}`;
      const told = f % 3 === 1 && k === 2;
      fan.push(id);
      grained.push(planner.segment(id, k, { told, steps: [GRAIN] }));
      if (told) fanCause = id;
    }
    planner.stitch(`f${f}-fan`, fan, grained, { reencode: false, failedBy: fanCause });

    planner.segment(`f${f}-take`, 1, { steps: [UPSCALE, RIFE] });
  }
  return { tasks: planner.tasks, jobs: planner.jobs, flows: sizes.flows, toldToFail: planner.toldToFail };
}
