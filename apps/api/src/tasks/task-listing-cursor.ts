import { ApiError } from "../errors.js";

/** Where a listing page ended: the submit time and id of its last task (newest first, id descending on ties). */
export interface ListingCursor {
  at: number;
  id: string;
}

export function encodeCursor(cursor: ListingCursor): string {
  return Buffer.from(JSON.stringify([cursor.at, cursor.id])).toString("base64url");
}

export function decodeCursor(text: string): ListingCursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as unknown[];
    if (typeof at === "number" && typeof id === "string") return { at, id };
  } catch {
    // Reported below, as for any other malformed cursor.
  }
  throw new ApiError(
    400,
    "invalid_cursor",
    "cursor is not one this API gave out; pass next_cursor from the previous page as it is",
  );
}
