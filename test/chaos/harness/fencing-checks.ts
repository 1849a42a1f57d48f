/**
 * What the fencing scenarios (a frozen worker, a host cut off) check for each task hit: the result
 * folder names the attempt Redis recorded as completing the task, the job completed once and was never
 * failed by the stale attempt, and the stale attempt noticed that it lost the job. Also the farm's
 * count of wasted GPU time.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { FarmStats, LostAttempts, modelQueueName, PublishClaims } from "@wgp-farm/queue";
import type { ChaosFarm } from "./chaos-farm.ts";
import { until } from "./farm-watch.ts";

/** One task whose running attempt the scenario took out (froze, cut off) while its job went on elsewhere. */
export interface FencedTask {
  taskId: string;
  model: string;
  outputSubDir: string;
  /** The slot whose attempt went stale. */
  staleSlot: string;
}

export interface FenceVerdict {
  /** The result folder names another attempt than Redis's completed one. */
  overwritten: boolean;
  problems: string[];
}

interface Manifest {
  attempt?: number;
  slot?: string;
}

/** Waits until the stale attempt recorded that it lost the job (it publishes nothing, then says so). */
export async function staleAttemptNoticed(
  chaos: ChaosFarm,
  task: FencedTask,
  timeoutMs: number,
): Promise<void> {
  const lost = new LostAttempts(chaos.farm.redis, chaos.farm.keys);
  await until(
    async () =>
      (await lost.list(task.taskId)).some((attempt) => attempt.slot === task.staleSlot) ? true : undefined,
    timeoutMs,
    `${task.staleSlot} to record its attempt at ${task.taskId} as lost`,
    200,
  );
}

/** The checks of one fenced task, once it has completed and the stale attempt has come back. */
export async function checkFencedTask(chaos: ChaosFarm, task: FencedTask): Promise<FenceVerdict> {
  const problems: string[] = [];
  const queue = chaos.farm.queues.byName(modelQueueName(task.model));
  const job = await queue.getJob(task.taskId);
  const state = job ? await job.getState() : "missing";
  if (!job || state !== "completed") return { overwritten: false, problems: [`${task.taskId}: ${state}`] };
  const claim = await new PublishClaims(chaos.farm.redis, chaos.farm.keys).read(task.taskId);
  const manifest = JSON.parse(
    await readFile(path.join(chaos.outputDir, task.outputSubDir, "result.json"), "utf8").catch(() => "{}"),
  ) as Manifest;
  const completedBy = (job.returnvalue as { slot?: string } | null)?.slot;
  const overwritten =
    manifest.attempt !== job.attemptsStarted ||
    manifest.slot !== completedBy ||
    manifest.attempt !== claim?.attempt;
  if (overwritten) {
    problems.push(
      `${task.taskId}: result.json names attempt ${manifest.attempt} on ${manifest.slot}; Redis completed attempt ${job.attemptsStarted} on ${completedBy} (claim: attempt ${claim?.attempt} on ${claim?.slot})`,
    );
  }
  // One finishing move (BullMQ counts the completion as an attempt made), and no failure on record:
  // the stale attempt neither completed nor failed the job.
  if ((job.attemptsMade ?? 0) !== 1 || (job.stacktrace ?? []).length > 0 || job.failedReason) {
    problems.push(
      `${task.taskId}: ${job.attemptsMade} finishing moves, errors: ${[job.failedReason, ...(job.stacktrace ?? [])].filter(Boolean).join(" | ")}`,
    );
  }
  return { overwritten, problems };
}

/** GPU seconds spent by attempts that lost their job, as the farm counted them. */
export async function wastedGpuSeconds(chaos: ChaosFarm): Promise<{ seconds: number; lostAttempts: number }> {
  const counters = await new FarmStats(chaos.farm.redis, chaos.farm.keys).read();
  return { seconds: counters.wasted_gpu_ms / 1000, lostAttempts: counters.lost_attempts };
}
