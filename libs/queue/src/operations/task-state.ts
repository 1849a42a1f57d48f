import type { JobType } from "bullmq";

/**
 * Where a task stands: BullMQ's job states, plus the farm's own two (a task moved to the quarantine
 * queue, a task cancelled before it ran) and `missing` (the task index knows the id, but its job is
 * gone: removed by hand, or an import that died between claiming the id and adding the job).
 */
export type TaskState =
  | "waiting"
  | "prioritized"
  | "delayed"
  | "active"
  | "completed"
  | "failed"
  | "waiting-children"
  | "quarantined"
  | "cancelled"
  | "missing";

/** The states an operator filters by (`wgp-farm ls --state …`). */
export const TASK_STATE_FILTERS = [
  "waiting",
  "delayed",
  "active",
  "completed",
  "failed",
  "quarantined",
  "cancelled",
] as const;
export type TaskStateFilter = (typeof TASK_STATE_FILTERS)[number];

/**
 * BullMQ job types behind each filter of a queue. "waiting" includes prioritized jobs (every task with
 * a priority sits in BullMQ's `prioritized` set) and flow jobs waiting for the jobs they depend on (a
 * stitch for its segments): to an operator, each is just waiting.
 */
export const JOB_TYPES_OF_FILTER: Record<Exclude<TaskStateFilter, "quarantined" | "cancelled">, JobType[]> = {
  waiting: ["wait", "prioritized", "waiting-children"],
  delayed: ["delayed"],
  active: ["active"],
  completed: ["completed"],
  failed: ["failed"],
};

/** Every job type a queue can hold, for listings without a filter. */
export const ALL_JOB_TYPES: JobType[] = [
  "active",
  "wait",
  "prioritized",
  "waiting-children",
  "delayed",
  "failed",
  "completed",
];

/** BullMQ's name for a job state, in the farm's vocabulary (`wait` → `waiting`). */
export function taskStateOfJob(jobState: string): TaskState {
  if (jobState === "wait" || jobState === "paused") return "waiting";
  return jobState as TaskState;
}
