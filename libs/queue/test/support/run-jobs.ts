import type { FarmConnection } from "@wgp-farm/queue";
import { startTestWorker, testManifest, waitUntil } from "@wgp-farm/testing";

/**
 * Runs every waiting task of one model queue once, as a worker would: ids starting with `bad-q` fail
 * the way the worker fails a task it quarantines, other ids starting with `bad` fail, the rest complete.
 */
export async function runTasks(farm: FarmConnection, model: string, expected: number): Promise<void> {
  const queue = farm.queues.forModel(model);
  const worker = await startTestWorker(farm, queue.name, async (job) => {
    if (String(job.id).startsWith("bad-q")) throw new Error(`quarantined: ${job.id} took down its worker`);
    if (String(job.id).startsWith("bad")) throw new Error(`${job.id} failed on purpose`);
    return testManifest(job, { queue_wait_s: 1, model_load_s: 0, generation_s: 5 });
  });
  try {
    await waitUntil(
      async () => (await queue.getCompletedCount()) + (await queue.getFailedCount()) >= expected,
    );
  } finally {
    await worker.close();
  }
}

/** A retry policy without retries or waits, so that a failing task fails at once. */
export const NO_RETRIES = { attempts: 1, backoffMs: 0 };
