import { median } from "../bench-result.ts";
import type { TraceLine } from "./pickup-trace-file.ts";

/** One arrival as the simulator saw it: its work entry (Redis clock, ms), BullMQ's fetch stamp, the engine's start. */
export interface TracedArrival {
  id: string;
  entryAt: number;
  processedOn: number;
  engineAt: number;
  /** Slots that held the arrival's model when it came. */
  holders: number;
}

/** Medians over the arrivals (ms from the work entry, unless said), and what woke per arrival. */
export interface PickupSplit {
  /** Entry → the first XREAD that returned it, in any process; → the one in the named process. */
  firstReadMs: number;
  namedReadMs: number;
  /** Entry → the taking slot woke; → its decision answered (arrivals it decided for only); → its fetch answered in Node. */
  slotWokeMs: number;
  decidedMs: number;
  fetchedMs: number;
  /** The fetch: answered in Node − BullMQ's `processedOn` (the script's own clock, ms). */
  fetchReplyMs: number;
  /** Per arrival: processes whose XREAD returned; slots woken; decisions made; arrivals the taker decided for; the taker held the model. */
  readsPerArrival: number;
  slotsWokenPerArrival: number;
  decisionsPerArrival: number;
  takerDecided: number;
  takerHeldModel: number;
  /** Arrivals whose model some slot held (the announcer names a holder's process first). */
  modelHeld: number;
  /** The simulator processes' event-loop delay over the arrivals (quarter-second windows): median of p99s, max. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  arrivals: number;
}

const WINDOW_MS = 500;
const round = (value: number) => Number(value.toFixed(2));

/**
 * Splits each arrival's entry → fetched leg into steps from the hosts' pickup traces: marks in the
 * half second after the entry belong to it (arrivals come one at a time, further apart than that).
 */
export function splitPickups(traces: readonly TraceLine[], arrivals: readonly TracedArrival[]): PickupSplit {
  const acc = {
    firstRead: [] as number[],
    namedRead: [] as number[],
    woke: [] as number[],
    decided: [] as number[],
    fetched: [] as number[],
    fetchReply: [] as number[],
    reads: [] as number[],
    woken: [] as number[],
    decisions: [] as number[],
  };
  let takerDecided = 0;
  let takerHeld = 0;
  const sorted = [...traces].sort((a, b) => a.t - b.t);
  for (const arrival of arrivals) {
    const from = arrival.entryAt;
    const inWindow = sorted.filter((line) => line.t >= from && line.t < from + WINDOW_MS);
    const of = (mark: string) => inWindow.filter((line) => line.mark === mark);
    const reads = of("read");
    const firstRead = reads[0];
    if (firstRead) acc.firstRead.push(firstRead.t - from);
    const namedRead = reads.find((line) => "named" in line && line.named === true);
    if (namedRead) acc.namedRead.push(namedRead.t - from);
    acc.reads.push(reads.length);
    acc.woken.push(of("woke").length);
    acc.decisions.push(of("decided").length);
    const fetched = of("fetched").find((line) => "job" in line && line.job === arrival.id);
    if (!fetched || !("slot" in fetched)) continue;
    acc.fetched.push(fetched.t - from);
    acc.fetchReply.push(fetched.t - arrival.processedOn);
    const bySlot = (mark: string) =>
      of(mark).filter((line) => "slot" in line && line.slot === fetched.slot && line.t <= fetched.t);
    const woke = bySlot("woke").at(-1);
    if (woke) {
      acc.woke.push(woke.t - from);
      if ("own" in woke && woke.own === true) takerHeld += 1;
    }
    const decided = bySlot("decided").at(-1);
    if (decided) {
      acc.decided.push(decided.t - from);
      takerDecided += 1;
    }
  }
  const delays = traces.filter(
    (line): line is Extract<TraceLine, { mark: "loop-delay" }> =>
      line.mark === "loop-delay" &&
      arrivals.some((a) => line.t >= a.entryAt && line.t < a.entryAt + WINDOW_MS),
  );
  const m = (values: number[]) => (values.length === 0 ? Number.NaN : round(median(values)));
  return {
    firstReadMs: m(acc.firstRead),
    namedReadMs: m(acc.namedRead),
    slotWokeMs: m(acc.woke),
    decidedMs: m(acc.decided),
    fetchedMs: m(acc.fetched),
    fetchReplyMs: m(acc.fetchReply),
    readsPerArrival: m(acc.reads),
    slotsWokenPerArrival: m(acc.woken),
    decisionsPerArrival: m(acc.decisions),
    takerDecided,
    takerHeldModel: takerHeld,
    modelHeld: arrivals.filter((arrival) => arrival.holders > 0).length,
    loopDelayP99Ms: m(delays.map((line) => line.p99Ms)),
    loopDelayMaxMs: round(Math.max(0, ...delays.map((line) => line.maxMs))),
    arrivals: arrivals.length,
  };
}
