import { readRecord } from "@wgp-farm/config";
import type { Task } from "@wgp-farm/tasks";
import { z } from "zod";
import type { FarmConnection } from "./farm-connection.js";
import type { TaskImportInfo } from "./task-job.js";

/** A running task that was cancelled fails with a reason that starts with this. */
export const CANCELLED_REASON_PREFIX = "cancelled: ";

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The task as imported; only what identifies it is checked (the importer validated the rest). */
const StoredTask = z.custom<Task>(
  (value) => isObject(value) && typeof value.task_id === "string" && typeof value.model === "string",
);
const StoredImportInfo = z.custom<TaskImportInfo>(
  (value) => isObject(value) && typeof value.source === "string",
);

/**
 * What stays of a task cancelled before it ran, in `keys.cancelled` (hash task_id → this, as JSON).
 * Read leniently: a field in another shape takes its default, so an odd record still says that the
 * task was cancelled.
 */
export const CancelledTaskRecordSchema = z.object({
  task_id: z.string().catch(""),
  queue: z.string().catch(""),
  reason: z.string().nullable().catch(null),
  cancelled_at: z.string().catch(""),
  /** The job state it was removed from. */
  state: z.string().catch("unknown"),
  task: StoredTask.nullable().catch(null),
  import: StoredImportInfo.nullable().catch(null),
});
export type CancelledTaskRecord = z.output<typeof CancelledTaskRecordSchema>;

function parseRecord(taskId: string, raw: string): CancelledTaskRecord {
  const stored = readRecord(CancelledTaskRecordSchema, raw, "cancelled task");
  // Even a record that is not JSON at all says that the task was cancelled.
  return { ...(stored ?? CancelledTaskRecordSchema.parse({})), task_id: taskId };
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
