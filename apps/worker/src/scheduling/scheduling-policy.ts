import type { SchedulingPolicyName } from "../worker-options.js";

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
}

/**
 * A switch is worth it when the holders' remaining work outlasts the switching slot's load and one
 * job by this many loads: the times are averages, and a switch also gives up the model the slot held.
 */
const TAIL_LOAD_MARGIN = 2;

/**
 * The backlog per slot on a model beyond which an idle slot switches to it: `backlogPerSlot` (right
 * for WanGP's minute-long loads), or less when the model's loads are short next to its jobs. With h
 * slots on it and a backlog of r jobs of J ms, they need about r/h × J; a switching slot finishes
 * a job after L + J, so it shortens the tail when r/h × J > J + margin × L, that is r/h > 1 + margin × L/J.
 */
export function switchBacklogPerSlot(queue: QueueSnapshot, backlogPerSlot: number): number {
  const { loadMs, jobMs } = queue;
  if (loadMs === null || jobMs === null || jobMs <= 0) return backlogPerSlot;
  return Math.min(backlogPerSlot, 1 + (TAIL_LOAD_MARGIN * loadMs) / jobMs);
}

export interface SchedulingInput {
  policy: SchedulingPolicyName;
  /** The model this slot's engine holds, or null (fresh or restarted engine). */
  loadedModel: string | null;
  queues: readonly QueueSnapshot[];
  /**
   * Other live slots that hold each model loaded (they take its jobs without a switch). Only needed
   * when the decision may switch models; undefined means "not read yet".
   */
  servers: ReadonlyMap<string, number> | undefined;
  now: number;
  maxWaitMs: number;
  backlogPerSlot: number;
}

export type SchedulingDecision =
  /** Fetch from this model's queue. `helpersAllowed`: the most slots this backlog justifies (claims). */
  | { kind: "take"; model: string; switching: boolean; helpersAllowed: number }
  /** Servers are needed to decide (a switch is possible): read the slot registry and decide again. */
  | { kind: "need-servers" }
  /** Nothing to do now; decide again at `recheckAt` (epoch ms) at the latest, or on a wake-up. */
  | { kind: "idle"; recheckAt: number | null };

function earliest(times: Iterable<number | null>): number | null {
  let best: number | null = null;
  for (const time of times) if (time !== null && (best === null || time < best)) best = time;
  return best;
}

function idle(input: SchedulingInput, ready: readonly QueueSnapshot[]): SchedulingDecision {
  // Wake up when a delayed retry becomes ready, or when a waiting job will pass the wait bound (one
  // already past it is served by another slot: the registry's TTL and the idle recheck cover that slot dying).
  const overdueAt = ready.map((q) =>
    q.headAgeMs === null || q.headAgeMs >= input.maxWaitMs ? null : input.now + input.maxWaitMs - q.headAgeMs,
  );
  const delayed = input.queues.map((q) => (q.blocked ? null : q.nextDelayedAt));
  const recheckAt = earliest([...overdueAt, ...delayed]);
  return { kind: "idle", recheckAt: recheckAt === null ? null : Math.max(recheckAt, input.now + 1) };
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
  };
}

/**
 * Model affinity. In order:
 * 1. a job that waited past `maxWaitMs` in a queue no slot serves: switch to it (the wait bound);
 * 2. the loaded model's queue, while it has jobs (no reload);
 * 3. the model under most pressure (its backlog beyond what its slots clear, weighted by the age of
 *    its head job), but only if the slots already on it leave more than `switchBacklogPerSlot` jobs
 *    each (`backlogPerSlot`, or fewer for a model whose loads are short next to its jobs);
 * 4. else idle: a backlog that the slots on it can clear is left to them.
 */
function decideAffinity(input: SchedulingInput, ready: readonly QueueSnapshot[]): SchedulingDecision {
  const { loadedModel, maxWaitMs, backlogPerSlot } = input;
  const own = ready.find((q) => q.model === loadedModel);
  const others = ready.filter((q) => q.model !== loadedModel);
  const overdue = others.filter((q) => (q.headAgeMs ?? 0) >= maxWaitMs);
  if ((overdue.length > 0 || !own) && others.length > 0 && input.servers === undefined) {
    return { kind: "need-servers" };
  }
  const helpers = (q: QueueSnapshot) => (input.servers?.get(q.model) ?? 0) + q.claims;
  const perSlot = (q: QueueSnapshot) => switchBacklogPerSlot(q, backlogPerSlot);
  const allowed = (q: QueueSnapshot) => Math.max(1, Math.ceil(q.ready / perSlot(q)));
  const switchTo = (q: QueueSnapshot): SchedulingDecision => ({
    kind: "take",
    model: q.model,
    switching: loadedModel !== null,
    helpersAllowed: allowed(q),
  });

  const starving = overdue
    .filter((q) => helpers(q) === 0)
    .sort((a, b) => (b.headAgeMs ?? 0) - (a.headAgeMs ?? 0))[0];
  if (starving) return switchTo(starving);
  if (own)
    return { kind: "take", model: own.model, switching: false, helpersAllowed: Number.POSITIVE_INFINITY };

  const pressure = (q: QueueSnapshot) =>
    (q.ready - helpers(q) * perSlot(q)) * (1 + (q.headAgeMs ?? 0) / maxWaitMs);
  const needy = others
    .filter((q) => q.ready > helpers(q) * perSlot(q))
    .sort((a, b) => pressure(b) - pressure(a) || (b.headAgeMs ?? 0) - (a.headAgeMs ?? 0))[0];
  return needy ? switchTo(needy) : idle(input, ready);
}

/** Which queue a slot fetches from next (pure: the Redis reads happen in JobScheduler). */
export function decideNextQueue(input: SchedulingInput): SchedulingDecision {
  const ready = input.queues.filter((q) => !q.blocked && q.ready > 0);
  if (ready.length === 0) return idle(input, ready);
  return input.policy === "fifo" ? decideFifo(input, ready) : decideAffinity(input, ready);
}
