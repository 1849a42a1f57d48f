import { bestEffort, type Logger } from "@wgp-farm/config";
import {
  type AttemptRecord,
  type FarmConnection,
  QUARANTINE_QUEUE,
  QUARANTINED_REASON_PREFIX,
  type QuarantinedJobData,
  type TaskJobData,
} from "@wgp-farm/queue";
import { type Job, UnrecoverableError } from "bullmq";

export interface QuarantineIncidents {
  /** Times a worker holding the job died (BullMQ's stalled counter). */
  stalls: number;
  /** Engine crashes and hangs while running it. */
  crashes: number;
}

type Connection = Pick<FarmConnection, "redis" | "keys" | "queues">;

/**
 * Dead-letters a task that keeps taking workers down: after `threshold` stalls and crashes it is
 * copied, with its whole history, to the quarantine queue (where no worker fetches), its job fails
 * with a `quarantined: …` reason, and the task index points at the quarantine queue so that
 * `status <id>` finds it there.
 */
export class Quarantine {
  readonly #farm: Connection;
  readonly threshold: number;
  readonly #logger: Logger | undefined;

  constructor(farm: Connection, threshold: number, logger?: Logger) {
    this.#farm = farm;
    this.threshold = threshold;
    this.#logger = logger;
  }

  due(incidents: QuarantineIncidents): boolean {
    return incidents.stalls + incidents.crashes >= this.threshold;
  }

  reasonFor(incidents: QuarantineIncidents): string {
    const parts = [
      incidents.stalls > 0 ? `${incidents.stalls} worker stall${incidents.stalls === 1 ? "" : "s"}` : "",
      incidents.crashes > 0
        ? `${incidents.crashes} engine crash${incidents.crashes === 1 ? "" : "es"}/hangs`
        : "",
    ].filter(Boolean);
    return `${QUARANTINED_REASON_PREFIX}the task took down its worker ${incidents.stalls + incidents.crashes} times (${parts.join(", ")}; threshold ${this.threshold})`;
  }

  /** Moves the job (locked by `token`) to the quarantine queue and fails it there where it was. */
  async quarantine(
    job: Job<TaskJobData>,
    token: string,
    fromQueue: string,
    incidents: QuarantineIncidents,
    attempts: readonly AttemptRecord[],
  ): Promise<string> {
    const { redis, keys, queues } = this.#farm;
    const taskId = String(job.id);
    const reason = this.reasonFor(incidents);
    const logs = await queues.byName(fromQueue).getJobLogs(taskId, -50, -1, true);
    const data: QuarantinedJobData = {
      ...job.data,
      quarantine: {
        reason,
        from_queue: fromQueue,
        quarantined_at: new Date().toISOString(),
        stalls: incidents.stalls,
        crashes: incidents.crashes,
        attempts_started: job.attemptsStarted ?? 0,
        attempts_made: job.attemptsMade ?? 0,
        errors: (job.stacktrace ?? []).filter((stack): stack is string => typeof stack === "string"),
        attempts: [...attempts],
        log_tail: logs.logs,
      },
    };
    const quarantineQueue = queues.byName(QUARANTINE_QUEUE);
    // Idempotent: a worker that died between these steps leaves the job to be quarantined again.
    await bestEffort(quarantineQueue.remove(taskId), this.#logger, "removing an earlier quarantine copy");
    await quarantineQueue.add(job.name, data, {
      jobId: taskId,
      removeOnComplete: false,
      removeOnFail: false,
    });
    const error = new UnrecoverableError(reason);
    error.stack = reason;
    await job.moveToFailed(error, token, false);
    await redis.hset(keys.taskIndex, taskId, QUARANTINE_QUEUE);
    return reason;
  }
}
