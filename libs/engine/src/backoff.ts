export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
}

export const BACKOFF_DEFAULTS = { initialMs: 1_000, maxMs: 60_000, factor: 2 } as const;

/** Delay before restart number `attempt` (1-based): initial, initial·factor, … capped at max. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { initialMs, maxMs, factor } = { ...BACKOFF_DEFAULTS, ...options };
  return Math.min(maxMs, initialMs * factor ** Math.max(0, attempt - 1));
}
