import { type FarmConnection, QUARANTINE_QUEUE } from "@wgp-farm/queue";

/**
 * The BullMQ state of many tasks in two round trips (index, then states), for pruning and filters;
 * `unknown` for a task the farm no longer has (cancelled before it ran, cleaned), `quarantined`, and
 * `missing` for an indexed id without a job. Should move to libs/queue beside findTask.
 */
export async function taskStates(farm: FarmConnection, taskIds: readonly string[]): Promise<string[]> {
  if (taskIds.length === 0) return [];
  const queues = await farm.redis.hmget(farm.keys.taskIndex, ...taskIds);
  return Promise.all(
    taskIds.map(async (id, i) => {
      const queueName = queues[i];
      if (!queueName) return "unknown";
      if (queueName === QUARANTINE_QUEUE) return "quarantined";
      const state = await farm.queues.byName(queueName).getJobState(id);
      return state === "unknown" ? "missing" : state;
    }),
  );
}
