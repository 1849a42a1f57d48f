import { hasControlCharacters } from "./text-rules.js";

export const TASK_ID_MAX_LENGTH = 128;

/**
 * Why a task id cannot be a BullMQ job id, or undefined when it can. BullMQ refuses ids containing
 * `:` and ids made only of digits; control characters and overlong ids would break logs and keys.
 */
export function taskIdProblem(id: string): string | undefined {
  if (id.length === 0) return "must not be empty";
  if (id.length > TASK_ID_MAX_LENGTH)
    return `must be at most ${TASK_ID_MAX_LENGTH} characters (has ${id.length})`;
  if (id.trim() !== id) return "must not start or end with white space";
  if (hasControlCharacters(id)) return "must not contain control characters";
  if (id.includes(":")) return "must not contain ':' (BullMQ job ids cannot)";
  if (/^\d+$/.test(id))
    return `must not be made only of digits (BullMQ job ids cannot); add a letter, e.g. 'task-${id}'`;
  return undefined;
}
