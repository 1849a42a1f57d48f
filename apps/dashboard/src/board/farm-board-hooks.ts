import type { BoardHooks, HookContext } from "@bull-board/api/typings/app";
import { type FarmConnection, type RemovedTask, TaskIndex } from "@wgp-farm/queue";
import { FarmQueueAdapter } from "./farm-queue-adapter.js";

const REMOVE_JOB_ROUTE = "/api/queues/:queueName/:jobId/clean";

/**
 * Bull Board actions that would put unvalidated task data into a queue. Tasks enter the farm through
 * `import-tasks`, which validates them (output folders confined to the output root, media paths,
 * model names) and indexes them; a job added or edited by hand would skip all of that.
 */
const UNVALIDATED_WRITES = new Set([
  "/api/queues/:queueName/add",
  "/api/queues/:queueName/:jobId/update-data",
  "/api/queues/:queueName/job-schedulers/:schedulerId",
  "/api/queues/:queueName/job-schedulers/:schedulerId/run",
]);

/**
 * Hooks around Bull Board's handlers: refuse the unvalidated writes above, and forget a job removed
 * from its job page in the farm's indexes (its output folder is read before the removal, since the
 * job's data is gone after it).
 */
export function farmBoardHooks(farm: FarmConnection): BoardHooks {
  const pending = new WeakMap<object, RemovedTask>();
  const index = new TaskIndex(farm.redis, farm.keys);
  return {
    async before(context: HookContext) {
      if (UNVALIDATED_WRITES.has(context.route)) {
        return {
          allow: false,
          status: 403,
          message: "tasks enter the farm through `wgp-farm import-tasks`, which validates them",
        };
      }
      if (context.route !== REMOVE_JOB_ROUTE) return;
      const { queueName, jobId } = context.request.params as { queueName?: string; jobId?: string };
      const adapter = queueName ? context.request.queues.get(queueName) : undefined;
      if (!(adapter instanceof FarmQueueAdapter) || !jobId) return;
      const job = await farm.queues.byName(adapter.queueName).getJob(jobId);
      if (job)
        pending.set(context.request, { task_id: jobId, output_sub_dir: job.data?.task?.output_sub_dir });
    },
    async after(context: HookContext, result) {
      const removed = pending.get(context.request);
      if (removed && (result.status ?? 200) < 400) await index.forget([removed]);
      return result;
    },
  };
}
