/**
 * Collects what is added during one event-loop turn and hands it, in the order it was added, to
 * `write` once the turn is over: what many callers of one process add together (slots finishing
 * jobs on the same Redis reply, heartbeats on a shared timer) becomes one Redis command. Each `add`
 * resolves, or rejects, with its batch's write.
 */
export class TurnBatch<Item> {
  readonly #write: (items: readonly Item[]) => Promise<void>;
  #pending: { items: Item[]; written: PromiseWithResolvers<void> } | undefined;

  constructor(write: (items: readonly Item[]) => Promise<void>) {
    this.#write = write;
  }

  add(item: Item): Promise<void> {
    if (!this.#pending) {
      const pending = { items: [] as Item[], written: Promise.withResolvers<void>() };
      this.#pending = pending;
      setImmediate(() => {
        this.#pending = undefined;
        this.#write(pending.items).then(pending.written.resolve, pending.written.reject);
      });
    }
    this.#pending.items.push(item);
    return this.#pending.written.promise;
  }
}
