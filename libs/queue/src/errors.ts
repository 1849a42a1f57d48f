import { ExitCode, UserError } from "@wgp-farm/config";

/** Redis did not answer (or the URL is not one): nothing was done. */
export class RedisUnreachableError extends UserError {
  override name = "RedisUnreachableError";
}

/** The private Redis could not start because no redis-server is installed. */
export class RedisServerMissingError extends UserError {
  override name = "RedisServerMissingError";
}

/** A tasks file that cannot be read (missing, a folder, unreadable). */
export class TaskSourceError extends UserError {
  override name = "TaskSourceError";
}

/** A queue named that tasks do not wait in: like an unknown task id, a "not found" (exit 1). */
export class UnknownQueueError extends UserError {
  override name = "UnknownQueueError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.failed, options);
  }
}

/** A model named that has no queue. */
export class UnknownModelError extends UnknownQueueError {
  override name = "UnknownModelError";
}
