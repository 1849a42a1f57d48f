import type { QueueSnapshot } from "./scheduling-policy.js";

/**
 * How the farm's slots divide the models' work: each model's work left (its ready and running jobs,
 * in job-time once every model with work has a typical job time, else in jobs), and its share of
 * the farm's slots in proportion. Slots that join a model by its share all end its work at about the
 * same time as the other models' slots end theirs; the first decisions of a fresh farm, many at once
 * on one snapshot, split the slots this way instead of each wave going to the one biggest backlog.
 */
export class WorkShares {
  readonly #slots: number;
  readonly #byJobTime: boolean;
  readonly #total: number;

  /** `slots`: the farm's live slots; 0 when unknown (no share then limits a model). */
  constructor(queues: readonly QueueSnapshot[], slots: number) {
    const withWork = queues.filter((q) => jobsLeft(q) > 0);
    this.#slots = slots;
    this.#byJobTime = withWork.length > 0 && withWork.every((q) => q.jobMs !== null && q.jobMs > 0);
    this.#total = withWork.reduce((sum, q) => sum + this.work(q), 0);
  }

  /** The model's work left: ready and running jobs, weighted by its typical job time when all are known. */
  work(queue: QueueSnapshot): number {
    return jobsLeft(queue) * (this.#byJobTime ? (queue.jobMs ?? 1) : 1);
  }

  /** The most slots the model's share of the work justifies (whole slots, at least one); unlimited when unknown. */
  slotsFor(queue: QueueSnapshot): number {
    if (this.#slots <= 0 || this.#total <= 0) return Number.POSITIVE_INFINITY;
    return Math.max(1, Math.ceil((this.#slots * this.work(queue)) / this.#total));
  }

  /**
   * The model a free slot joins among `candidates` (`helpers`: the slots on each; `allowed`: the most
   * each may have): one drawn in proportion to the slots it may still take, so that slots deciding at
   * once on one snapshot spread as the shares do instead of all claiming the same model; a model no
   * slot is on before the others (its jobs would otherwise wait until other models run out, and end
   * last); when none has a known room left (the farm's slots unknown), the one whose slots have the
   * most work left each.
   */
  pick(
    candidates: readonly QueueSnapshot[],
    helpers: (queue: QueueSnapshot) => number,
    allowed: (queue: QueueSnapshot) => number,
    random: () => number,
  ): QueueSnapshot | undefined {
    const unserved = candidates.filter((queue) => helpers(queue) === 0);
    const short = (unserved.length > 0 ? unserved : candidates)
      .map((queue) => ({ queue, lacking: allowed(queue) - helpers(queue) }))
      .filter(({ lacking }) => lacking > 0 && Number.isFinite(lacking));
    const lacking = short.reduce((sum, s) => sum + s.lacking, 0);
    let draw = random() * lacking;
    for (const s of short) {
      draw -= s.lacking;
      if (draw < 0) return s.queue;
    }
    const perHelper = (queue: QueueSnapshot) =>
      helpers(queue) === 0 ? Number.POSITIVE_INFINITY : this.work(queue) / helpers(queue);
    return [...candidates].sort(
      (a, b) =>
        perHelper(b) - perHelper(a) || this.work(b) - this.work(a) || (b.headAgeMs ?? 0) - (a.headAgeMs ?? 0),
    )[0];
  }
}

function jobsLeft(queue: QueueSnapshot): number {
  return (queue.blocked ? 0 : queue.ready) + queue.running;
}
