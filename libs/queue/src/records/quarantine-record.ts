import type { TaskJobData } from "./task-job.js";

/** A quarantined task's original job fails with a reason that starts with this. */
export const QUARANTINED_REASON_PREFIX = "quarantined: ";

/** How one attempt at a task ended, as the worker records it. */
export type AttemptOutcome =
  | "running"
  | "completed"
  | "failed"
  | "retried"
  | "crashed"
  | "hung"
  | "stalled"
  | "cancelled"
  | "requeued"
  | "quarantined"
  /** The attempt lost its job (lock expired or taken over) and published nothing. */
  | "lost";

export interface AttemptRecord {
  slot: string;
  started_at: string;
  ended_at: string | null;
  outcome: AttemptOutcome;
  message: string | null;
}

/** Why and from where a task was quarantined, with everything known about its attempts. */
export interface QuarantineInfo {
  reason: string;
  from_queue: string;
  quarantined_at: string;
  /** Times a worker holding the task died (its lock expired and BullMQ re-queued it). */
  stalls: number;
  /** Times the engine running it crashed or hung. */
  crashes: number;
  attempts_started: number;
  attempts_made: number;
  /** BullMQ's error of each failed attempt, oldest first. */
  errors: string[];
  attempts: AttemptRecord[];
  /** The last lines of the job's log. */
  log_tail: string[];
}

/** The data of a job in the quarantine queue: the task as imported, plus its quarantine record. */
export interface QuarantinedJobData extends TaskJobData {
  quarantine: QuarantineInfo;
}
