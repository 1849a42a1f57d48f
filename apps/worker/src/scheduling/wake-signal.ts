interface Waiter {
  /** The model the waiting slot holds, or null. */
  holds: string | null;
  wake(): void;
}

/**
 * Wakes the idle slots of this process, only as many as the work calls for: the slots holding the
 * model first (they take its jobs without a reload), then others. A sequence number makes a
 * wake-up that arrives while a slot is still deciding count: the slot passes the number it saw
 * before deciding, and `wait` returns at once if anything happened since.
 */
export class WakeSignal {
  #seq = 0;
  readonly #waiters = new Set<Waiter>();
  /** The sequence number at which each model's queue last got work. */
  readonly #modelSeq = new Map<string, number>();

  get seq(): number {
    return this.#seq;
  }

  /**
   * `count` tasks of `model` may be ready: wakes up to `count` waiting slots, those holding `model`
   * first; with `holdersOnly`, no other (slots elsewhere hold the model and can clear the backlog).
   */
  notify(model: string, count = 1, holdersOnly = false): void {
    this.#seq += 1;
    this.#modelSeq.set(model, this.#seq);
    const waiters = [...this.#waiters];
    const holders = waiters.filter((waiter) => waiter.holds === model);
    const others = holdersOnly ? [] : waiters.filter((waiter) => waiter.holds !== model);
    const chosen = [...holders, ...others].slice(0, Math.max(1, count));
    for (const waiter of chosen) waiter.wake();
  }

  /** Wakes one waiting slot, to look at every queue (the slow fallback for work nobody announced). */
  nudge(): void {
    this.#seq += 1;
    const [first] = this.#waiters;
    first?.wake();
  }

  /** Wakes every waiting slot. */
  notifyAll(): void {
    this.#seq += 1;
    for (const waiter of [...this.#waiters]) waiter.wake();
  }

  /** Whether `model`'s queue got work after `sinceSeq`. */
  notifiedSince(sinceSeq: number, model: string): boolean {
    return (this.#modelSeq.get(model) ?? 0) > sinceSeq;
  }

  /**
   * Resolves on a wake-up after `sinceSeq` meant for this slot (it holds `holds`), after `timeoutMs`
   * (none when not finite), or when `signal` aborts. Resolves at once when anything happened since.
   */
  wait(
    sinceSeq: number,
    timeoutMs: number,
    signal?: AbortSignal,
    holds: string | null = null,
  ): Promise<void> {
    if (this.#seq !== sinceSeq || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: Waiter = {
        holds,
        wake: () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          signal?.removeEventListener("abort", waiter.wake);
          resolve();
        },
      };
      const timer = Number.isFinite(timeoutMs) ? setTimeout(waiter.wake, Math.max(0, timeoutMs)) : undefined;
      this.#waiters.add(waiter);
      signal?.addEventListener("abort", waiter.wake, { once: true });
    });
  }
}
