import type { CancelledTaskRecord } from "./cancel-task.js";
import type { FarmConnection } from "./farm-connection.js";

/** Reads a cancel record leniently: an unreadable one still says that the task was cancelled. */
function parseRecord(taskId: string, raw: string): CancelledTaskRecord {
  let stored: Partial<CancelledTaskRecord> = {};
  try {
    const value = JSON.parse(raw) as unknown;
    if (value && typeof value === "object") stored = value as Partial<CancelledTaskRecord>;
  } catch {
    // Keep the defaults below.
  }
  return {
    task_id: taskId,
    queue: stored.queue ?? "",
    reason: stored.reason ?? null,
    cancelled_at: stored.cancelled_at ?? "",
    state: stored.state ?? "unknown",
    task: stored.task ?? null,
    import: stored.import ?? null,
  };
}

export async function readCancelledRecord(
  farm: FarmConnection,
  taskId: string,
): Promise<CancelledTaskRecord | null> {
  const raw = await farm.redis.hget(farm.keys.cancelled, taskId);
  return raw === null ? null : parseRecord(taskId, raw);
}

/** Every cancelled task's record, read in batches (HSCAN) so a long history does not block Redis. */
export async function* readCancelledRecords(farm: FarmConnection): AsyncGenerator<CancelledTaskRecord> {
  let cursor = "0";
  do {
    const [next, flat] = await farm.redis.hscan(farm.keys.cancelled, cursor, "COUNT", 500);
    cursor = next;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      yield parseRecord(flat[i] as string, flat[i + 1] as string);
    }
  } while (cursor !== "0");
}
