/** What every scenario reports: the same columns for each, plus its own figures. */

export type Scale = "short" | "full";

export interface ScenarioResult {
  id: string;
  title: string;
  /** Independent rounds of the attack (kills, restarts, generated inputs, requests …). */
  trials: number;
  tasks: number;
  faults: number;
  lost: number;
  duplicated: number;
  escaped: number;
  /**
   * Tasks whose result folder names another attempt than the one Redis recorded as completing them
   * (a stale attempt published over the real one); reported by the scenarios that leave a worker alive
   * without its job.
   */
  overwritten?: number;
  /** GPU seconds spent by attempts that lost their job (the farm's own count), where a scenario causes such. */
  wastedGpuS?: number;
  /** Time from each fault to the farm serving again (ms); see `recoveryMeaning`. */
  recoverMs: number[];
  recoveryMeaning: string;
  /** Every broken invariant, one line each: the verdict fails when there is any. */
  violations: string[];
  /** Scenario-specific figures (throughput, memory, response times, …), in display order. */
  figures: Array<[label: string, value: string]>;
  /** How the attack was made (what was chosen and why). */
  method: string[];
  durationS: number;
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export function verdictOf(result: ScenarioResult): "PASS" | "FAIL" {
  return result.violations.length === 0 &&
    result.lost === 0 &&
    result.duplicated === 0 &&
    result.escaped === 0 &&
    (result.overwritten ?? 0) === 0
    ? "PASS"
    : "FAIL";
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return "–";
  return ms >= 10_000
    ? `${(ms / 1000).toFixed(1)} s`
    : ms >= 1000
      ? `${(ms / 1000).toFixed(2)} s`
      : `${Math.round(ms)} ms`;
}

/** One line per scenario, as printed while the suite runs. */
export function summaryLine(result: ScenarioResult): string {
  return [
    `${verdictOf(result)} ${result.id}:`,
    `trials ${result.trials}, tasks ${result.tasks}, faults ${result.faults},`,
    `lost ${result.lost}, duplicated ${result.duplicated}, escaped ${result.escaped},`,
    result.overwritten === undefined ? "" : `overwritten ${result.overwritten},`,
    result.wastedGpuS === undefined ? "" : `wasted GPU ${result.wastedGpuS.toFixed(1)} s,`,
    `recover median ${formatMs(median(result.recoverMs))} max ${formatMs(Math.max(...result.recoverMs, -1) < 0 ? undefined : Math.max(...result.recoverMs))}`,
    result.violations.length > 0
      ? `\n  violations:\n  - ${result.violations.slice(0, 20).join("\n  - ")}`
      : "",
  ].join(" ");
}

/** A stopwatch for a scenario's duration. */
export function startClock(): () => number {
  const started = performance.now();
  return () => Math.round((performance.now() - started) / 100) / 10;
}
