import { ApiError } from "../errors.js";

/**
 * The tasks of a submit body: `{"tasks": […]}` or one task object. The batch envelope has no other
 * field, so a typo beside `tasks` is refused rather than ignored.
 */
export function tasksOfBody(body: unknown, maxBatch: number): unknown[] {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ApiError(400, "invalid_body", 'send one task as a JSON object, or a batch as {"tasks": [ … ]}');
  }
  if (!("tasks" in body)) return [body];
  const { tasks, ...rest } = body as { tasks: unknown };
  refuseOtherFields(rest, "a batch has only the field 'tasks'");
  if (!Array.isArray(tasks) || tasks.length === 0) {
    throw new ApiError(400, "invalid_body", "'tasks' must be a non-empty list of task objects");
  }
  if (tasks.length > maxBatch) {
    throw new ApiError(
      413,
      "batch_too_large",
      `a submit may hold at most ${maxBatch} tasks (this one has ${tasks.length}); split it`,
    );
  }
  return tasks;
}

/** Refuses what a request body holds beside its one field (a typo must not be ignored). */
export function refuseOtherFields(rest: object, rule: string): void {
  const extra = Object.keys(rest);
  if (extra.length === 0) return;
  throw new ApiError(
    400,
    "unknown_field",
    `${rule}; remove ${extra.map((key) => `'${key}'`).join(", ")}`,
    extra.map((key) => ({ path: key, message: "unknown field" })),
  );
}
