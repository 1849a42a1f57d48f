import type { JobProgress } from "@wgp-farm/queue";

/** What a running job tells its slot as it happens: the one way anything flows out of a JobRunner. */
export type JobEvent =
  /** The job is about to reach the engine with this model (the engine holds that model from now on). */
  | { type: "engine-job"; model: string }
  /** The engine reports a phase; `loading_model` means it is loading the model. */
  | { type: "phase"; phase: string }
  | { type: "progress"; progress: JobProgress };

export type JobReporter = (event: JobEvent) => void;

/** Why a running job is stopped before it ends on its own. */
export type StopReason =
  | { kind: "cancel"; reason: string | null }
  | { kind: "requeue"; why: string }
  | { kind: "lock-lost"; why: string }
  /** A check that runs alongside the engine failed: the job fails as that error says. */
  | { kind: "invalid"; error: unknown };

/** Stops the job for `reason`, unless it was already stopped (the first reason wins). */
export function stopJob(stop: AbortController, reason: StopReason): void {
  if (!stop.signal.aborted) stop.abort(reason);
}

/** Why the job was stopped, if it was. */
export function stopReasonOf(stop: AbortController): StopReason | undefined {
  return stop.signal.aborted ? (stop.signal.reason as StopReason) : undefined;
}
