import { Counter, type Registry } from "prom-client";

/**
 * A Prometheus counter that mirrors a total kept elsewhere (a Redis hash the workers increment).
 * prom-client counters only go up, so each update adds the difference; a smaller total (the stats
 * were reset) restarts the series, which Prometheus reads as a counter reset.
 */
export class MirroredCounter<L extends string> {
  private readonly counter: Counter<L>;
  private readonly totals = new Map<string, number>();

  constructor(registry: Registry, name: string, help: string, labelNames: readonly L[] = []) {
    this.counter = new Counter({ name, help, labelNames, registers: [registry] });
  }

  set(value: number, labels: Partial<Record<L, string>> = {}): void {
    const key = JSON.stringify(labels);
    const known = this.totals.get(key) ?? 0;
    if (value < known) {
      this.counter.remove(labels);
      this.counter.inc(labels, value);
    } else {
      this.counter.inc(labels, value - known);
    }
    this.totals.set(key, value);
  }
}
