import type { FarmConnection } from "./farm-connection.js";

/** The record a cancel leaves for a task whose job it removed (written by `cancelTask`). */
export type CancelledRecord = Record<string, unknown> & { task_id: string };

function parseRecord(taskId: string, raw: string): CancelledRecord {
  try {
    const value = JSON.parse(raw) as unknown;
    if (value && typeof value === "object") return { ...(value as Record<string, unknown>), task_id: taskId };
  } catch {
    // An unreadable record still says that the task was cancelled.
  }
  return { task_id: taskId };
}

/** When the record says the task was cancelled (ms), if it says so in a field we know. */
export function cancelledAtMs(record: CancelledRecord): number | null {
  const value = record.cancelled_at ?? record.at;
  if (typeof value === "number") return value;
  if (typeof value === "string") {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? null : parsed;
  }
  return null;
}

export async function readCancelledRecord(
  farm: FarmConnection,
  taskId: string,
): Promise<CancelledRecord | null> {
  const raw = await farm.redis.hget(farm.keys.cancelled, taskId);
  return raw === null ? null : parseRecord(taskId, raw);
}

/** Every cancelled task's record, read in batches (HSCAN) so a long history does not block Redis. */
export async function* readCancelledRecords(farm: FarmConnection): AsyncGenerator<CancelledRecord> {
  let cursor = "0";
  do {
    const [next, flat] = await farm.redis.hscan(farm.keys.cancelled, cursor, "COUNT", 500);
    cursor = next;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      yield parseRecord(flat[i] as string, flat[i + 1] as string);
    }
  } while (cursor !== "0");
}
