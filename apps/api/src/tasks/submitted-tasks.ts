import type { Redis } from "ioredis";
import type { ListingCursor } from "./task-listing-cursor.js";

const CHUNK = 200;

/**
 * The tasks of one listing (a token's, or every API task for an admin), newest first, from a cursor
 * on: keyset paging over a sorted set (submit time → task id), stable while tasks are added. Ties of
 * submit time (a batch) are ordered by id, descending, as Redis' REV order has them.
 */
export async function* submittedTasksAfter(
  redis: Redis,
  key: string,
  from: ListingCursor | undefined,
  sinceMs: number | undefined,
): AsyncGenerator<ListingCursor> {
  const min = sinceMs === undefined ? "-inf" : String(sinceMs);
  let position = from;
  while (true) {
    if (position) {
      const ties = await redis.zrange(key, String(position.at), String(position.at), "BYSCORE", "REV");
      for (const id of ties) if (id < position.id) yield { at: position.at, id };
    }
    const max = position ? `(${position.at}` : "+inf";
    const chunk = await redis.zrange(key, max, min, "BYSCORE", "REV", "LIMIT", 0, CHUNK, "WITHSCORES");
    for (let i = 0; i < chunk.length; i += 2) {
      position = { at: Number(chunk[i + 1]), id: chunk[i] as string };
      yield position;
    }
    if (chunk.length < CHUNK * 2) return;
  }
}
