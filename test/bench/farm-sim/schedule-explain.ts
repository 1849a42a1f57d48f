/**
 * Where a busy farm's makespan went (`farm-bench.ts --explain`): each slot's time from the import's
 * start to the last completion, split into generation, model loads and the intervals it spent
 * without a job, each interval named after the first reason the slot gave for staying idle in it
 * (its scheduling decisions' debug lines: decision-records.ts); and how the models' jobs were
 * divided over the slots.
 */
import { median } from "../bench-result.ts";
import type { DecisionRecord } from "./decision-records.ts";
import type { EngineRecord } from "./virtual-engine.ts";

/** Why a slot was without a job: the rule of its first idle decision then, or none (`deciding`). */
export type IdleCause = "nothing-ready" | "left-to-holders" | "claim-refused" | "deciding";
type ByCause = Record<IdleCause, number>;

export interface ModelSplit {
  model: string;
  jobs: number;
  /** Slots whose first job was of this model. */
  firstSlots: number;
  /** The slots this model's jobs call for at the farm's jobs per slot. */
  fairSlots: number;
  /** Slots that ran any of its jobs. */
  slotsEver: number;
  /** Its last job's end on its engine (ms after the start). */
  endMs: number;
}

export interface ScheduleExplanation {
  slots: number;
  makespanMs: number;
  /** The farm's slot-time (ms) by what slots did, divided by the slots: each is a share of the makespan. */
  perSlotMs: {
    generation: number;
    loads: number;
    beforeFirstJob: ByCause;
    betweenJobs: ByCause;
    afterLastJob: ByCause;
  };
  /** How many slots ran n jobs; loaded n times. */
  jobsPerSlot: Record<string, number>;
  loadsPerSlot: Record<string, number>;
  models: ModelSplit[];
  decisions: { take: Record<string, number>; idle: Record<string, number> };
  /** The slots whose last job ended last: each job as `model@start s` (`+load` when it loaded). */
  lastToEnd: { slot: string; jobs: string[] }[];
  /** The left-to-holders decisions, medians of what they judged (the model with most jobs ready). */
  leftToHolders: {
    ready: number | null;
    helpers: number | null;
    holdersFinishMs: number | null;
    switchFinishMs: number | null;
  };
}

/** How many of the slots that ended last the explanation lists. */
const LAST_TO_END = 4;
const seconds = (ms: number) => (ms / 1000).toFixed(2);
const noCause = (): ByCause => ({
  "nothing-ready": 0,
  "left-to-holders": 0,
  "claim-refused": 0,
  deciding: 0,
});
const endOf = (r: EngineRecord) => r.t + r.load_ms + r.generation_ms;

function tally(values: Iterable<string | number>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

function group<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

/** The cause of a slot's interval without a job: its first idle decision inside it. */
function causeOf(decisions: readonly DecisionRecord[], from: number, to: number): IdleCause {
  // A partial view's idle is followed at once by the decision on every queue: it is part of deciding.
  const first = decisions.find(
    (d) => d.kind === "idle" && d.why.rule !== "partial-view" && d.t > from && d.t < to,
  );
  return first?.kind === "idle" && first.why.rule !== "partial-view" ? first.why.rule : "deciding";
}

function medianOrNull(values: readonly number[]): number | null {
  return values.length === 0 ? null : Math.round(median([...values]));
}

export function explainSchedule(
  records: readonly EngineRecord[],
  allDecisions: readonly DecisionRecord[],
  startMs: number,
  endMs: number,
): ScheduleExplanation {
  const decisions = allDecisions.filter((d) => d.t >= startMs && d.t <= endMs);
  const jobsBySlot = group(records, (r) => r.slot);
  const decisionsBySlot = group(decisions, (d) => d.slot);
  const slotIds = new Set([...jobsBySlot.keys(), ...decisionsBySlot.keys()]);
  const slots = slotIds.size;
  const time = { generation: 0, loads: 0, before: noCause(), between: noCause(), after: noCause() };
  const firstModels: string[] = [];
  for (const slot of slotIds) {
    const jobs = [...(jobsBySlot.get(slot) ?? [])].sort((a, b) => a.t - b.t);
    const own = decisionsBySlot.get(slot) ?? [];
    const interval = (into: ByCause, from: number, to: number) => {
      into[causeOf(own, from, to)] += to - from;
    };
    const first = jobs[0];
    interval(time.before, startMs, first?.t ?? endMs);
    if (first) firstModels.push(first.model);
    for (const [i, job] of jobs.entries()) {
      time.generation += job.generation_ms;
      time.loads += job.load_ms;
      const next = jobs[i + 1];
      interval(next ? time.between : time.after, endOf(job), next?.t ?? endMs);
    }
  }
  const perSlot = (ms: number) => Math.round(ms / slots);
  const perSlotByCause = (byCause: ByCause) =>
    Object.fromEntries(Object.entries(byCause).map(([cause, ms]) => [cause, perSlot(ms)])) as ByCause;
  const jobsPerSlotAll = records.length / slots;
  const left = decisions.flatMap((d) =>
    d.kind === "idle" && d.why.rule === "left-to-holders"
      ? [...d.why.models].sort((a, b) => b.ready - a.ready).slice(0, 1)
      : [],
  );
  const numbers = (pick: (m: (typeof left)[number]) => number | null) =>
    medianOrNull(left.map(pick).filter((v): v is number => v !== null));
  return {
    slots,
    makespanMs: Math.round(endMs - startMs),
    perSlotMs: {
      generation: perSlot(time.generation),
      loads: perSlot(time.loads),
      beforeFirstJob: perSlotByCause(time.before),
      betweenJobs: perSlotByCause(time.between),
      afterLastJob: perSlotByCause(time.after),
    },
    lastToEnd: [...jobsBySlot.entries()]
      .map(([slot, jobs]) => ({ slot, jobs: [...jobs].sort((a, b) => a.t - b.t) }))
      .sort((a, b) => endOf(b.jobs.at(-1) as EngineRecord) - endOf(a.jobs.at(-1) as EngineRecord))
      .slice(0, LAST_TO_END)
      .map(({ slot, jobs }) => ({
        slot,
        jobs: jobs.map((r) => `${r.model}@${seconds(r.t - startMs)}${r.load_ms > 0 ? "+load" : ""}`),
      })),
    jobsPerSlot: tally([...slotIds].map((slot) => jobsBySlot.get(slot)?.length ?? 0)),
    loadsPerSlot: tally(
      [...slotIds].map((slot) => (jobsBySlot.get(slot) ?? []).filter((r) => r.load_ms > 0).length),
    ),
    models: [...group(records, (r) => r.model).entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([model, jobs]) => ({
        model,
        jobs: jobs.length,
        firstSlots: firstModels.filter((m) => m === model).length,
        fairSlots: Number((jobs.length / jobsPerSlotAll).toFixed(1)),
        slotsEver: new Set(jobs.map((r) => r.slot)).size,
        endMs: Math.round(Math.max(...jobs.map(endOf)) - startMs),
      })),
    decisions: {
      take: tally(decisions.flatMap((d) => (d.kind === "take" ? [d.why ?? "own-arrival"] : []))),
      idle: tally(decisions.flatMap((d) => (d.kind === "idle" ? [d.why.rule] : []))),
    },
    leftToHolders: {
      ready: numbers((m) => m.ready),
      helpers: numbers((m) => m.helpers),
      holdersFinishMs: numbers((m) => m.holdersFinishMs),
      switchFinishMs: numbers((m) => m.switchFinishMs),
    },
  };
}

const causes = (byCause: ByCause) =>
  Object.entries(byCause)
    .filter(([, ms]) => ms > 0)
    .map(([cause, ms]) => `${cause} ${seconds(ms)}`)
    .join(", ");
const counts = (tallied: Record<string, number>) =>
  Object.entries(tallied)
    .map(([key, n]) => `${key}: ${n}`)
    .join(", ");
const total = (byCause: ByCause) => Object.values(byCause).reduce((sum, ms) => sum + ms, 0);

/** The explanation as a few lines of text. */
export function formatExplanation(label: string, x: ScheduleExplanation): string {
  const t = x.perSlotMs;
  const l = x.leftToHolders;
  return [
    `${label}: makespan ${seconds(x.makespanMs)} s = per slot, on average: generation ${seconds(t.generation)} s` +
      ` + loads ${seconds(t.loads)} + before its first job ${seconds(total(t.beforeFirstJob))} (${causes(t.beforeFirstJob)})` +
      ` + between jobs ${seconds(total(t.betweenJobs))} (${causes(t.betweenJobs)})` +
      ` + after its last job ${seconds(total(t.afterLastJob))} (${causes(t.afterLastJob)})`,
    `  slots by jobs run: ${counts(x.jobsPerSlot)}; by model loads: ${counts(x.loadsPerSlot)}`,
    `  models (jobs; slots it calls for / first on it / ever on it; its last job ended at): ${x.models
      .map(
        (m) =>
          `${m.model} ${m.jobs}; ${m.fairSlots} / ${m.firstSlots} / ${m.slotsEver}; ${seconds(m.endMs)} s`,
      )
      .join(" | ")}`,
    `  decisions: take ${counts(x.decisions.take)}; idle ${counts(x.decisions.idle)}`,
    `  ended last: ${x.lastToEnd.map((slot) => `${slot.slot}: ${slot.jobs.join(" ")}`).join(" | ")}`,
    `  left to holders (medians): ${l.ready} ready, ${l.helpers} slots on it, holders finish in ${l.holdersFinishMs} ms, a switch must beat ${l.switchFinishMs} ms`,
  ].join("\n");
}
