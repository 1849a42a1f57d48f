/**
 * Steps the fault scenarios share: import every task, start the usual fleet, wait on something while
 * recording a failure as a violation, stop a single worker, and the end check (every task accounted
 * for, nothing written outside the output root) with the columns of the result it fills.
 */
import type { RetryPolicy } from "@wgp-farm/queue";
import type { ChaosFarm } from "./chaos-farm.ts";
import type { ScenarioResult } from "./scenario-result.ts";
import { type Accounting, accountForTasks, escapedWrites, type TaskExpectation } from "./task-accounting.ts";
import { WorkerFleet, type WorkerProcess, type WorkerSpec } from "./worker-process.ts";

/** Two `wgp-farm worker` processes (host-a, host-b) × 2 slots on the WanGP double, started and ready. */
export async function startTwoHosts(
  chaos: ChaosFarm,
  options: Pick<WorkerSpec, "env" | "args">,
): Promise<WorkerFleet> {
  const fleet = new WorkerFleet(
    chaos,
    ["host-a", "host-b"].map((name) => ({ name, slots: 2, engine: "wangp" as const, ...options })),
  );
  await fleet.start();
  return fleet;
}

/**
 * Awaits `work`; when it fails, its message becomes a violation (after `label: ` when given) and the
 * scenario goes on to its end check instead of ending without a report.
 */
export async function recordFailure<T>(
  work: Promise<T>,
  violations: string[],
  label?: string,
): Promise<T | undefined> {
  try {
    return await work;
  } catch (error) {
    const message = (error as Error).message;
    violations.push(label ? `${label}: ${message}` : message);
    return undefined;
  }
}

/** SIGTERM to one worker, then waits for it to exit. */
export async function stopWorker(worker: WorkerProcess): Promise<void> {
  worker.kill("SIGTERM");
  await worker.exited;
}

export interface EndCheck {
  accounting: Accounting;
  /** Names written beside the output root that are none of the farm's own. */
  escaped: string[];
}

/**
 * The end check of a scenario whose workers have stopped: every task accounted for against its
 * expectation, and no write outside the output root (`allowedOutside`: the scenario's own files there).
 * Every problem found goes into `violations`.
 */
export async function checkTheEnd(
  chaos: ChaosFarm,
  expectations: readonly TaskExpectation[],
  violations: string[],
  allowedOutside: readonly RegExp[] = [],
): Promise<EndCheck> {
  const accounting = await accountForTasks(chaos, expectations);
  violations.push(...accounting.problems);
  const escaped = await escapedWrites(chaos, allowedOutside);
  violations.push(...escaped.map((name) => `written outside the output root: ${name}`));
  return { accounting, escaped };
}

/** The lost / duplicated / escaped columns of a result, from its end check. */
export function damageOf(end: EndCheck): Pick<ScenarioResult, "lost" | "duplicated" | "escaped"> {
  return {
    lost: end.accounting.lost.length,
    duplicated: end.accounting.duplicated.length,
    escaped: end.escaped.length,
  };
}

/** "18 completed, 2 failed": how many tasks ended in each state. */
export function endStates(states: Readonly<Record<string, number>>): string {
  return Object.entries(states)
    .map(([state, n]) => `${n} ${state}`)
    .join(", ");
}

/** Imports the scenario's tasks; any task not imported (all are meant to be valid) is a violation. */
export async function importAll(
  chaos: ChaosFarm,
  tasks: readonly unknown[],
  retry: RetryPolicy,
  violations: string[],
): Promise<void> {
  const report = await chaos.import(tasks, retry);
  if (report.imported.length !== tasks.length) {
    violations.push(
      `imported ${report.imported.length} of ${tasks.length}: ${JSON.stringify(report.invalid[0])}`,
    );
  }
}
