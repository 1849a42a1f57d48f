import type { SchedulingPolicyName } from "../worker-options.js";
import { WorkShares } from "./work-shares.js";

/** One model queue as the scheduler sees it at a moment. */
export interface QueueSnapshot {
  model: string;
  queue: string;
  /** Jobs that can start now: waiting, prioritized, and delayed jobs whose time has come. */
  ready: number;
  /** Age of the oldest job at the head of the queue (ms), or null when none is ready. */
  headAgeMs: number | null;
  /** When the next delayed job (a retry in backoff) becomes ready (epoch ms), or null. */
  nextDelayedAt: number | null;
  /** Paused, or at its global concurrency: it hands out no job now. */
  blocked: boolean;
  /** Slots (anywhere) that claimed this model and are about to load it. */
  claims: number;
  /** The model's typical load time (ms), null when unknown. */
  loadMs: number | null;
  /** The model's typical job time (ms), null when unknown. */
  jobMs: number | null;
  /** The model's jobs being run now. */
  running: number;
  /** When the running job started (epoch ms) whose slot takes the last unclaimed ready job; null: none. */
  tailStartedAt: number | null;
}

/**
 * A switch is worth it when the slots on a model would finish its last ready job later than a
 * switching slot (a load, then the job) by this many loads: the times are averages, and a switch
 * also gives up the model the slot held.
 */
const TAIL_LOAD_MARGIN = 2;

/**
 * When (ms from now) the slots running a model's jobs finish its last ready job that no claimant
 * takes, if no other slot helps: the slot that started its current job at `tailStartedAt` ends it,
 * then runs one job per round of `ready / running`. Null when unknown (no times yet, nothing running).
 */
export function holdersFinishMs(queue: QueueSnapshot, now: number): number | null {
  const { jobMs, tailStartedAt, running } = queue;
  const unclaimed = queue.ready - queue.claims;
  if (jobMs === null || tailStartedAt === null || running === 0 || unclaimed <= 0) return null;
  const current = Math.max(0, jobMs - (now - tailStartedAt));
  return current + Math.ceil(unclaimed / running) * jobMs;
}

/**
 * The unclaimed jobs of the holders' last round: the ones the tail rule is about. They end together
 * (each on the holder that takes it), so as many slots may switch for them at once as there are of
 * them; one at a time made slots that decided on one snapshot refuse each other, and the refused
 * one's job became some holder's extra round.
 */
export function lastRoundJobs(queue: QueueSnapshot): number {
  const unclaimed = queue.ready - queue.claims;
  if (unclaimed <= 0 || queue.running === 0) return 0;
  return ((unclaimed - 1) % queue.running) + 1;
}

/** When a switching slot would finish one of the model's jobs (ms from now), with the margin; null when unknown. */
function switchFinishMs({ loadMs, jobMs }: QueueSnapshot): number | null {
  return loadMs === null || jobMs === null ? null : jobMs + TAIL_LOAD_MARGIN * loadMs;
}

/**
 * The tail rule: an idle slot takes a model's last job when its holders would finish it later than
 * the slot can (its load, then the job) by `TAIL_LOAD_MARGIN` loads. With WanGP's minute-long loads
 * that takes a backlog of several jobs per holder, which `backlogPerSlot` already sends slots to;
 * with short loads it ends the wait while a model's holders work through its last jobs.
 */
export function tailWorthSwitching(queue: QueueSnapshot, now: number): boolean {
  const finish = holdersFinishMs(queue, now);
  const switchFinish = switchFinishMs(queue);
  return finish !== null && switchFinish !== null && finish > switchFinish;
}

export interface SchedulingInput {
  policy: SchedulingPolicyName;
  /** The model this slot's engine holds, or null (fresh or restarted engine). */
  loadedModel: string | null;
  queues: readonly QueueSnapshot[];
  /** Other live slots that hold each model loaded (they take its jobs without a switch). */
  servers: ReadonlyMap<string, number>;
  now: number;
  maxWaitMs: number;
  backlogPerSlot: number;
  /**
   * The queues are only those of the models whose work woke the slot (the others not read): a switch
   * is then decided only for a model no slot is on, one slot at a time.
   */
  partial?: boolean;
  /** The farm's live slots, this one included (their share of each model's work); unknown: 0 or absent. */
  slots?: number;
  /** Draws in [0, 1) for `WorkShares.pick` (default Math.random; tests fix it). */
  random?: () => number;
}

/**
 * Which rule sent a slot to a queue: its own model's (`own`), the wait bound (`wait-bound`), a
 * backlog beyond what the model's slots clear (`backlog`), the tail rule (`tail`), FIFO (`oldest`).
 */
export type TakeRule = "own" | "wait-bound" | "backlog" | "tail" | "oldest";

/** A model with ready jobs that an idle slot left to the slots on it, and the numbers it judged by. */
export interface LeftBacklog {
  model: string;
  ready: number;
  /** Slots on it: serving it, or claimed it. */
  helpers: number;
  /** When its slots would finish its last unclaimed job (ms from now); null when unknown. */
  holdersFinishMs: number | null;
  /** What `holdersFinishMs` must exceed for a switch (a load, the job, the margin); null when unknown. */
  switchFinishMs: number | null;
}

/**
 * Why a slot stays idle (the slot's debug log carries it: what an operator asks when a slot idles
 * beside a queue with jobs): no queue has a job it can start, every ready job is left to the slots
 * on its model, or other slots claimed the switch first.
 */
export type IdleReason =
  | { rule: "nothing-ready" }
  | { rule: "left-to-holders"; models: LeftBacklog[] }
  | { rule: "claim-refused"; model: string }
  /** Decided on the woken models' queues alone, and nothing there could be judged without the others. */
  | { rule: "partial-view" };

export type SchedulingDecision =
  /** Fetch from this model's queue. `helpersAllowed`: the most slots this backlog justifies (claims). */
  | { kind: "take"; model: string; switching: boolean; helpersAllowed: number; why: TakeRule }
  /** Nothing to do now; decide again at `recheckAt` (epoch ms) at the latest, or on a wake-up. */
  | { kind: "idle"; recheckAt: number | null; why: IdleReason };

function earliest(times: Iterable<number | null>): number | null {
  let best: number | null = null;
  for (const time of times) if (time !== null && (best === null || time < best)) best = time;
  return best;
}

function idle(
  input: SchedulingInput,
  ready: readonly QueueSnapshot[],
  why: IdleReason = { rule: "nothing-ready" },
): SchedulingDecision {
  // Wake up when a delayed retry becomes ready, or when a waiting job will pass the wait bound (one
  // already past it is served by another slot: the registry's TTL and the idle recheck cover that slot dying).
  const overdueAt = ready.map((q) =>
    q.headAgeMs === null || q.headAgeMs >= input.maxWaitMs ? null : input.now + input.maxWaitMs - q.headAgeMs,
  );
  const delayed = input.queues.map((q) => (q.blocked ? null : q.nextDelayedAt));
  const recheckAt = earliest([...overdueAt, ...delayed]);
  return { kind: "idle", recheckAt: recheckAt === null ? null : Math.max(recheckAt, input.now + 1), why };
}

/** Plain FIFO (benchmark baseline): the queue whose head job is oldest, whatever is loaded. */
function decideFifo(input: SchedulingInput, ready: readonly QueueSnapshot[]): SchedulingDecision {
  const oldest = [...ready].sort((a, b) => (b.headAgeMs ?? 0) - (a.headAgeMs ?? 0))[0];
  if (!oldest) return idle(input, ready);
  return {
    kind: "take",
    model: oldest.model,
    switching: input.loadedModel !== null && oldest.model !== input.loadedModel,
    helpersAllowed: Number.POSITIVE_INFINITY,
    why: "oldest",
  };
}

/**
 * Model affinity. In order:
 * 1. a job that waited past `maxWaitMs` in a queue no slot serves: switch to it (the wait bound);
 * 2. the loaded model's queue, while it has jobs (no reload);
 * 3. another model, if the slots already on it leave more than `backlogPerSlot` jobs each (and then
 *    no more slots than its share of the farm's slots, in proportion to its work left:
 *    `WorkShares`), or if they would finish its last job later than this slot could
 *    (`tailWorthSwitching`; as many slots as the jobs of the holders' last round: `lastRoundJobs`);
 *    a backlog first, drawn in proportion to the slots each may still take
 *    (`WorkShares.pick`), else the tail whose slots would finish last;
 * 4. else idle: a backlog that the slots on it can clear is left to them.
 */
function decideAffinity(input: SchedulingInput, ready: readonly QueueSnapshot[]): SchedulingDecision {
  const { loadedModel, maxWaitMs, backlogPerSlot } = input;
  const own = ready.find((q) => q.model === loadedModel);
  const others = ready.filter((q) => q.model !== loadedModel);
  const overdue = others.filter((q) => (q.headAgeMs ?? 0) >= maxWaitMs);
  const partial = input.partial === true;
  const helpers = (q: QueueSnapshot) => (input.servers.get(q.model) ?? 0) + q.claims;
  const beyondHolders = (q: QueueSnapshot) => q.ready > helpers(q) * backlogPerSlot;
  const tail = (q: QueueSnapshot) => !beyondHolders(q) && tailWorthSwitching(q, input.now);
  const shares = new WorkShares(input.queues, input.slots ?? 0);
  const allowed = (q: QueueSnapshot) => {
    if (tail(q)) return helpers(q) + lastRoundJobs(q);
    if (partial) return helpers(q) + 1;
    return Math.max(1, Math.min(Math.ceil(q.ready / backlogPerSlot), shares.slotsFor(q)));
  };
  const switchTo = (q: QueueSnapshot, why: TakeRule): SchedulingDecision => ({
    kind: "take",
    model: q.model,
    switching: loadedModel !== null,
    helpersAllowed: allowed(q),
    why,
  });

  const starving = overdue
    .filter((q) => helpers(q) === 0)
    .sort((a, b) => (b.headAgeMs ?? 0) - (a.headAgeMs ?? 0))[0];
  if (starving) return switchTo(starving, "wait-bound");
  if (own)
    return {
      kind: "take",
      model: own.model,
      switching: false,
      helpersAllowed: Number.POSITIVE_INFINITY,
      why: "own",
    };

  // A partial view cannot weigh a model against the others (shares, which tail ends last): it
  // switches only to a model no slot is on, and one slot at a time; the rest is decided on every queue.
  const candidates = others.filter((q) => beyondHolders(q) && (!partial || helpers(q) === 0));
  const backlog = shares.pick(candidates, helpers, allowed, input.random ?? Math.random);
  if (backlog) return switchTo(backlog, "backlog");
  if (partial) return idle(input, ready, { rule: "partial-view" });
  // The tail whose slots would end last: where one more slot shortens the farm's makespan most.
  const finish = (q: QueueSnapshot) => holdersFinishMs(q, input.now) ?? 0;
  const lastTail = others.filter(tail).sort((a, b) => finish(b) - finish(a))[0];
  if (lastTail) return switchTo(lastTail, "tail");
  return idle(input, ready, {
    rule: "left-to-holders",
    models: others.map((q) => leftBacklog(q, helpers(q), input.now)),
  });
}

function leftBacklog(queue: QueueSnapshot, helpers: number, now: number): LeftBacklog {
  return {
    model: queue.model,
    ready: queue.ready,
    helpers,
    holdersFinishMs: holdersFinishMs(queue, now),
    switchFinishMs: switchFinishMs(queue),
  };
}

/** Which queue a slot fetches from next (pure: the Redis reads happen in JobScheduler). */
export function decideNextQueue(input: SchedulingInput): SchedulingDecision {
  const ready = input.queues.filter((q) => !q.blocked && q.ready > 0);
  if (ready.length === 0) return idle(input, ready);
  return input.policy === "fifo" ? decideFifo(input, ready) : decideAffinity(input, ready);
}
