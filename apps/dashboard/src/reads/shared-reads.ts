import type { FarmConnection } from "@wgp-farm/queue";

/**
 * Reads of the farm shared by the requests that ask for the same thing while one is under way: N
 * viewers polling a big farm at once cost one Redis read each time, not N. Nothing is kept once a
 * read has ended, so an answer is never older than the read under way when it was asked for.
 */
export class SharedReads {
  readonly #running = new Map<string, Promise<unknown>>();

  /** The answer of the read of `key` under way, else of a new one made by `work`. */
  read<T>(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.#running.get(key);
    if (running) return running as Promise<T>;
    const reading = work().finally(() => this.#running.delete(key));
    this.#running.set(key, reading);
    return reading;
  }
}

const OF_FARM = new WeakMap<FarmConnection, SharedReads>();

/** The dashboard's shared reads of a farm (one per connection: the page and its APIs share them). */
export function sharedReadsOf(farm: FarmConnection): SharedReads {
  let reads = OF_FARM.get(farm);
  if (!reads) {
    reads = new SharedReads();
    OF_FARM.set(farm, reads);
  }
  return reads;
}
