export interface LoginThrottleOptions {
  /** Wrong credentials allowed per client within the window before it is refused (default 5). */
  maxFailures: number;
  /** Window (and lockout) length in ms (default 60 s). */
  windowMs: number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleOptions = { maxFailures: 5, windowMs: 60_000 };

interface FailureWindow {
  count: number;
  resetsAt: number;
}

/**
 * Counts wrong credentials per client address. Past the limit the client is refused (429) until the
 * window ends, even with the right password, so guessing costs a window per few tries.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, FailureWindow>();

  constructor(private readonly options: LoginThrottleOptions = DEFAULT_LOGIN_THROTTLE) {}

  /** Seconds the client must wait, or 0 when it may try. */
  retryAfterS(client: string, now = Date.now()): number {
    const window = this.failures.get(client);
    if (!window) return 0;
    if (window.resetsAt <= now) {
      this.failures.delete(client);
      return 0;
    }
    return window.count >= this.options.maxFailures ? Math.ceil((window.resetsAt - now) / 1000) : 0;
  }

  recordFailure(client: string, now = Date.now()): void {
    const window = this.failures.get(client);
    if (!window || window.resetsAt <= now) {
      this.failures.set(client, { count: 1, resetsAt: now + this.options.windowMs });
      this.prune(now);
    } else {
      window.count++;
    }
  }

  recordSuccess(client: string): void {
    this.failures.delete(client);
  }

  /** Forgets ended windows, so that a scan from many addresses cannot grow the map for ever. */
  private prune(now: number): void {
    if (this.failures.size < 1000) return;
    for (const [client, window] of this.failures) if (window.resetsAt <= now) this.failures.delete(client);
  }
}
