/**
 * Wakes the idle slots of this process. A sequence number makes a wake-up that arrives while a slot
 * is still deciding count: the slot passes the number it saw before deciding, and `wait` returns at
 * once if anything happened since.
 */
export class WakeSignal {
  #seq = 0;
  readonly #waiters = new Set<() => void>();
  /** The sequence number at which each model's queue last got work. */
  readonly #modelSeq = new Map<string, number>();

  get seq(): number {
    return this.#seq;
  }

  /** Wakes the waiting slots; `models` names the queues that got work, when known. */
  notify(models: Iterable<string> = []): void {
    this.#seq += 1;
    for (const model of models) this.#modelSeq.set(model, this.#seq);
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Whether `model`'s queue got work after `sinceSeq`. */
  notifiedSince(sinceSeq: number, model: string): boolean {
    return (this.#modelSeq.get(model) ?? 0) > sinceSeq;
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
