import { IdleRoster } from "./idle-roster.js";
import { markPickup, tracingPickup } from "./pickup-trace.js";

interface Waiter {
  /** The model the waiting slot holds, or null. */
  holds: string | null;
  wake(): void;
}

/** How long a roster entry no waiting slot needs stays (a slot back from a short job needs it again). */
const ROSTER_REMOVAL_DELAY_MS = 500;

/**
 * Wakes the idle slots of this process, only as many as the work calls for: the slots holding the
 * model first (they take its jobs without a reload), then others. A sequence number makes a
 * wake-up that arrives while a slot is still deciding count: the slot passes the number it saw
 * before deciding, and `wait` returns at once if anything happened since.
 *
 * With an idle roster, a slot about to wait first puts this process on it (what the slot holds),
 * then is sent back to decide once more: work added before the roster had it is seen by that
 * decision, work added after it names this process. A slot that names itself when it waits stays
 * idle, and on the roster, until it takes a job (`leaveIdle`), through its re-decisions too: taking
 * its entry away while it decides sent it back to decide again, and at 1,000 slots, where decisions
 * are slow, the roster's heartbeat did so to some slot of every process every round, for ever.
 */
export class WakeSignal {
  #seq = 0;
  readonly #waiters = new Set<Waiter>();
  /** The idle slots that named themselves, and what each holds: waiting, or deciding between waits. */
  readonly #idle = new Map<string, string | null>();
  /** The sequence number at which each model's queue last got work. */
  readonly #modelSeq = new Map<string, number>();
  /** The sequence number of the last wake-up for no model in particular (`nudge`, `notifyAll`). */
  #anySeq = 0;
  #roster: IdleRoster | undefined;
  #rosterRemoval: NodeJS.Timeout | undefined;

  get seq(): number {
    return this.#seq;
  }

  /** Keeps `roster` current with what this process's waiting slots hold. */
  useRoster(roster: IdleRoster): void {
    this.#roster = roster;
    roster.startHeartbeat(() => this.#memberships());
  }

  /**
   * `count` tasks of `model` may be ready: wakes up to `count` waiting slots, those holding `model`
   * first; with `holdersOnly`, no other (slots elsewhere hold the model and can clear the backlog).
   * Returns how many it woke.
   */
  notify(model: string, count = 1, holdersOnly = false): number {
    this.#seq += 1;
    this.#modelSeq.set(model, this.#seq);
    const waiters = [...this.#waiters];
    const holders = waiters.filter((waiter) => waiter.holds === model);
    const others = holdersOnly ? [] : waiters.filter((waiter) => waiter.holds !== model);
    const chosen = [...holders, ...others].slice(0, Math.max(1, count));
    if (tracingPickup()) {
      const woke = chosen.length;
      markPickup("notify", {
        process: this.#roster?.id ?? null,
        model,
        woke,
        holders: Math.min(woke, holders.length),
      });
    }
    for (const waiter of chosen) waiter.wake();
    return chosen.length;
  }

  /** Wakes one waiting slot, to look at every queue (the slow fallback for work nobody announced). */
  nudge(): void {
    this.#seq += 1;
    this.#anySeq = this.#seq;
    const [first] = this.#waiters;
    first?.wake();
  }

  /** Wakes every waiting slot. */
  notifyAll(): void {
    this.#seq += 1;
    this.#anySeq = this.#seq;
    for (const waiter of [...this.#waiters]) waiter.wake();
  }

  /** Whether `model`'s queue got work after `sinceSeq`. */
  notifiedSince(sinceSeq: number, model: string): boolean {
    return (this.#modelSeq.get(model) ?? 0) > sinceSeq;
  }

  /**
   * The models whose queues got work after `sinceSeq`, when nothing else happened since (no wake-up
   * for every queue): what a slot woken then needs to look at. Null: look at every queue.
   */
  modelsNotifiedSince(sinceSeq: number): string[] | null {
    if (this.#anySeq > sinceSeq) return null;
    const models = [...this.#modelSeq].filter(([, seq]) => seq > sinceSeq).map(([model]) => model);
    return models.length > 0 ? models : null;
  }

  /** Whether a slot of this process is idle (waiting, or deciding whether there is work). */
  get hasIdleSlot(): boolean {
    return this.#idle.size > 0 || this.#waiters.size > 0;
  }

  /** Makes the roster say exactly what the idle slots hold now (before passing work on). */
  async syncRoster(): Promise<void> {
    await this.#roster?.sync(() => this.#memberships());
  }

  /**
   * `slot` took a job (or stopped): it is no longer idle. Its roster entries go lazily (it may be
   * back soon, holding the same model), but at once when no slot of this process is idle any more:
   * arrivals meanwhile would name a process that cannot take them.
   */
  leaveIdle(slot: string): void {
    if (!this.#idle.delete(slot)) return;
    if (this.hasIdleSlot) this.#scheduleRosterRemoval();
    else void this.#roster?.sync(() => this.#memberships()).catch(() => undefined);
  }

  /**
   * Resolves on a wake-up after `sinceSeq` meant for this slot (it holds `holds`), after `timeoutMs`
   * (none when not finite), or when `signal` aborts. Resolves at once when anything happened since,
   * and once the roster has this slot when it did not (the slot decides again). A `slot` named here
   * is idle from now until `leaveIdle`.
   */
  wait(
    sinceSeq: number,
    timeoutMs: number,
    signal?: AbortSignal,
    holds: string | null = null,
    slot?: string,
  ): Promise<void> {
    if (slot !== undefined) this.#idle.set(slot, holds);
    if (this.#seq !== sinceSeq || signal?.aborted) return Promise.resolve();
    const roster = this.#roster;
    if (roster && !roster.covers(holds)) {
      // A roster that cannot be written leaves the slot to the watcher's fallback (a normal wait).
      return roster.include(holds).then(
        () => undefined,
        () => this.#wait(Math.min(timeoutMs, 1_000), signal, holds),
      );
    }
    return this.#wait(timeoutMs, signal, holds);
  }

  #wait(timeoutMs: number, signal: AbortSignal | undefined, holds: string | null): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: Waiter = {
        holds,
        wake: () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          signal?.removeEventListener("abort", waiter.wake);
          this.#scheduleRosterRemoval();
          resolve();
        },
      };
      const timer = Number.isFinite(timeoutMs) ? setTimeout(waiter.wake, Math.max(0, timeoutMs)) : undefined;
      this.#waiters.add(waiter);
      signal?.addEventListener("abort", waiter.wake, { once: true });
    });
  }

  /** The roster entries the idle slots need (waiting ones, and those that named themselves). */
  #memberships(): Set<string> {
    const holds = [...[...this.#waiters].map((waiter) => waiter.holds), ...this.#idle.values()];
    return new Set(holds.flatMap((held) => IdleRoster.membershipsOf(held)));
  }

  #scheduleRosterRemoval(): void {
    if (!this.#roster || this.#rosterRemoval) return;
    this.#rosterRemoval = setTimeout(() => {
      this.#rosterRemoval = undefined;
      void this.#roster?.sync(() => this.#memberships()).catch(() => undefined);
    }, ROSTER_REMOVAL_DELAY_MS);
    this.#rosterRemoval.unref();
  }
}
