/** A seeded generator (mulberry32), so that a run's sequence of attacks can be replayed from its seed. */
export class Random {
  #state: number;
  readonly seed: number;

  constructor(seed: number = Date.now() >>> 0) {
    this.seed = seed >>> 0;
    this.#state = this.seed;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  between(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick from an empty list");
    return items[Math.floor(this.next() * items.length)] as T;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** The seed from CHAOS_SEED when set (to replay a run), else a fresh one. */
export function seededRandom(): Random {
  const given = process.env.CHAOS_SEED;
  return new Random(given ? Number(given) : undefined);
}
