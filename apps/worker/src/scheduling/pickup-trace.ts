/**
 * Timestamps along an arrival's path from its work entry to a fetched job, for the farm simulator
 * (test/bench/farm-sim), which installs a sink to split its pickup latency into steps. Off (no sink,
 * as in every product process) a mark is one check of a module variable.
 */
export type PickupMark =
  /** The watcher's XREAD returned work entries (`named`: one of them names this process). */
  | "read"
  /** The wake signal woke waiting slots for a model (`holders`: how many of them hold it). */
  | "notify"
  /** A waiting slot woke (`own`: its own model got work, so it fetches without deciding). */
  | "woke"
  /** A slot's decision was answered (`kind`: take or idle). */
  | "decided"
  /** A slot's fetch was answered (`job`: the job's id, if it got one). */
  | "fetched";

export type PickupSink = (mark: PickupMark, detail: Record<string, string | number | boolean | null>) => void;

let sink: PickupSink | undefined;

/** Installs (or, with undefined, removes) the one sink of this process. */
export function setPickupSink(next: PickupSink | undefined): void {
  sink = next;
}

/** Whether a sink is installed: callers skip building a mark's detail when not. */
export function tracingPickup(): boolean {
  return sink !== undefined;
}

export function markPickup(mark: PickupMark, detail: Record<string, string | number | boolean | null>): void {
  sink?.(mark, detail);
}
