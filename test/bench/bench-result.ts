/**
 * What every benchmark script prints as the last line of its stdout: one JSON object that
 * run-all.ts turns into a section of docs/BENCHMARKS.md.
 */
export interface BenchRow {
  measure: string;
  /** The measured value, with its unit ("2.84 ms", "253 MB"). */
  value: string;
  /** The goal, when the issue set one ("≤ 5 ms"). */
  target?: string;
  pass?: boolean;
}

export interface BenchResult {
  title: string;
  /** How it was measured: what ran, how many runs, which statistic. */
  method: string;
  rows: BenchRow[];
  notes?: string[];
  /** Raw numbers, kept in docs/benchmarks.json. */
  details?: unknown;
}

export function printBenchResult(result: BenchResult): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN;
}
