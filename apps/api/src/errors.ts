import { UserError } from "@wgp-farm/config";

/** The one error body every failing request gets: what went wrong and what to change. */
export interface ErrorBody {
  error: {
    status: number;
    /** Stable, machine-readable: `invalid_json`, `unknown_field`, `rate_limited`, … */
    code: string;
    /** For a person: what to change. */
    message: string;
    details?: unknown;
  };
}

/** An HTTP answer other than success, thrown by handlers and rendered by the error handler. */
export class ApiError extends UserError {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toBody(): ErrorBody {
    return {
      error: {
        status: this.status,
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

/**
 * Redis is away, or stopped answering: refuse rather than let a request through unchecked. `started`:
 * the work had begun, so part of it may be done (every action of the API is safe to retry).
 */
export function redisUnavailable(what: string, started = false): ApiError {
  const outcome = started
    ? "it may be partly done: retry it (a submit with the same Idempotency-Key or task_id is safe to retry)"
    : "nothing was done, retry later";
  return new ApiError(
    503,
    "redis_unavailable",
    `cannot ${what}: the farm's Redis does not answer; ${outcome}`,
    undefined,
    { "Retry-After": "5" },
  );
}

/** Unknown to this token: never say whether another token has it. */
export function taskNotFound(taskId: string): ApiError {
  return new ApiError(404, "task_not_found", `no task '${taskId}' for this token`);
}
