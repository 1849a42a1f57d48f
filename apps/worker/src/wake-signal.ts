/**
 * Wakes the idle slots of this process. A sequence number makes a wake-up that arrives while a slot
 * is still deciding count: the slot passes the number it saw before deciding, and `wait` returns at
 * once if anything happened since.
 */
export class WakeSignal {
  #seq = 0;
  readonly #waiters = new Set<() => void>();

  get seq(): number {
    return this.#seq;
  }

  notify(): void {
    this.#seq += 1;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Resolves on the next `notify` after `sinceSeq`, after `timeoutMs`, or when `signal` aborts. */
  wait(sinceSeq: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.#seq !== sinceSeq || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      this.#waiters.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}
