/** Reading the farm while a scenario attacks it: counts, running jobs, waiting for conditions. */
import { setTimeout as sleep } from "node:timers/promises";
import { modelQueueName } from "@wgp-farm/queue";
import type { ChaosFarm } from "./chaos-farm.ts";

export interface RunningJob {
  taskId: string;
  queue: string;
  /** The slot holding it (BullMQ's processedBy: `gpu<N>@<name>`). */
  slotId: string;
  attemptsStarted: number;
  attemptsMade: number;
  step: number;
}

/** Polls `check` every `everyMs` until it returns a value other than undefined; throws after `timeoutMs`. */
export async function until<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Finished jobs (completed + failed) across the model queues; quarantined originals count as failed. */
export async function finishedCount(chaos: ChaosFarm, models: readonly string[]): Promise<number> {
  return finishedIn(chaos, models.map(modelQueueName));
}

/** Finished jobs (completed + failed) across the named queues. */
export async function finishedIn(chaos: ChaosFarm, queueNames: readonly string[]): Promise<number> {
  let total = 0;
  for (const name of queueNames) {
    const counts = await chaos.farm.queues.byName(name).getJobCounts("completed", "failed");
    total += (counts.completed ?? 0) + (counts.failed ?? 0);
  }
  return total;
}

/** Waits until `total` tasks have finished, reading through Redis outages. */
export async function waitForAllFinished(
  chaos: ChaosFarm,
  models: readonly string[],
  total: number,
  timeoutMs: number,
): Promise<void> {
  await waitForFinishedIn(chaos, models.map(modelQueueName), total, timeoutMs);
}

/** Waits until `total` jobs of the named queues have finished, reading through Redis outages. */
export async function waitForFinishedIn(
  chaos: ChaosFarm,
  queueNames: readonly string[],
  total: number,
  timeoutMs: number,
): Promise<void> {
  await until(
    async () => ((await finishedIn(chaos, queueNames).catch(() => -1)) >= total ? true : undefined),
    timeoutMs,
    `${total} jobs to finish`,
    250,
  );
}

/** The jobs running now, with the slot holding each. */
export async function runningJobs(chaos: ChaosFarm, models: readonly string[]): Promise<RunningJob[]> {
  return runningJobsIn(chaos, models.map(modelQueueName));
}

/** The jobs running now in the named queues (model queues, the stitch queue), with who holds each. */
export async function runningJobsIn(chaos: ChaosFarm, queueNames: readonly string[]): Promise<RunningJob[]> {
  const running: RunningJob[] = [];
  for (const name of queueNames) {
    const queue = chaos.farm.queues.byName(name);
    for (const job of await queue.getActive()) {
      running.push({
        taskId: String(job.id),
        queue: queue.name,
        slotId: job.processedBy ?? "",
        attemptsStarted: job.attemptsStarted ?? 0,
        attemptsMade: job.attemptsMade ?? 0,
        step: (job.progress as { step?: number | null } | undefined)?.step ?? 0,
      });
    }
  }
  return running;
}

export interface Recovery {
  /** Until the farm had the job back: re-queued (waiting, delayed for its retry), running again, or finished. */
  requeuedMs: number | undefined;
  /** Until it ran again on a slot (or finished): also waits for its turn in the queue. */
  rerunMs: number | undefined;
}

/** Follows a job hit by a fault at `since`: when it was back in its queue, and when it ran again. */
export async function followRecovery(
  chaos: ChaosFarm,
  job: RunningJob,
  since: number,
  timeoutMs: number,
): Promise<Recovery> {
  const queue = chaos.farm.queues.byName(job.queue);
  const recovery: Recovery = { requeuedMs: undefined, rerunMs: undefined };
  const deadline = since + timeoutMs;
  while (Date.now() < deadline) {
    // Redis may be down for the scenario: an unread job is "unknown" until the next look.
    const current = await queue.getJob(job.taskId).catch(() => undefined);
    const state = current ? await current.getState().catch(() => "unknown") : "unknown";
    const now = Date.now() - since;
    const finished = state === "completed" || state === "failed";
    const rerun = state === "active" && (current?.attemptsStarted ?? 0) > job.attemptsStarted;
    const back = ["waiting", "wait", "prioritized", "delayed"].includes(state);
    if (finished || rerun || back) recovery.requeuedMs ??= now;
    if (finished || rerun) {
      recovery.rerunMs = now;
      return recovery;
    }
    await sleep(100);
  }
  return recovery;
}

/** Waits for every followed job; a job never back in its queue is a violation. */
export async function collectRecoveries(
  recoveries: readonly Promise<Recovery>[],
  violations: string[],
  what: string,
): Promise<{ recoverMs: number[]; rerunMs: number[] }> {
  const followed = await Promise.all(recoveries);
  const recoverMs = followed.map((r) => r.requeuedMs).filter((ms): ms is number => ms !== undefined);
  const rerunMs = followed.map((r) => r.rerunMs).filter((ms): ms is number => ms !== undefined);
  if (recoverMs.length < followed.length) {
    violations.push(`${followed.length - recoverMs.length} ${what} job(s) never came back to their queue`);
  }
  return { recoverMs, rerunMs };
}
