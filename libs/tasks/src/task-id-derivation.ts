import { createHash } from "node:crypto";

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/**
 * An id for a task written without `task_id`, derived from its content (key order does not matter),
 * so the same task written twice is one task.
 */
export function deriveTaskId(task: Record<string, unknown>): string {
  const { task_id: _ignored, ...content } = task;
  return `task-${createHash("sha256").update(canonicalJson(content)).digest("hex").slice(0, 20)}`;
}
