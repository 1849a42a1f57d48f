import type { FarmConnection } from "@wgp-farm/queue";

/**
 * 1 for the next job its model queue hands out, for a task that waits; null otherwise. BullMQ takes
 * from the wait list (oldest at its right end) before the prioritized set (lowest score first), so a
 * prioritized task waits behind the whole list. Only within its model queue: slots choose between
 * model queues by affinity and pressure, so no farm-wide order exists.
 */
export async function queuePosition(
  farm: FarmConnection,
  queueName: string,
  taskId: string,
): Promise<number | null> {
  const queue = farm.queues.byName(queueName);
  const waitKey = queue.toKey("wait");
  const [fromLeft, waitLength, rank] = await Promise.all([
    farm.redis.lpos(waitKey, taskId),
    farm.redis.llen(waitKey),
    farm.redis.zrank(queue.toKey("prioritized"), taskId),
  ]);
  if (fromLeft !== null) return waitLength - fromLeft;
  if (rank !== null) return waitLength + rank + 1;
  return null;
}
