import type { Job } from "bullmq";

export interface LockRenewalOptions {
  lockDurationMs: number;
  renewEveryMs: number;
  /** The lock is gone (another worker may hold the job now): stop working on it. */
  onLost(reason: string): void;
  /** Runs after each renewal (the slot checks for a cancel request it may have missed). */
  onRenewed?(): Promise<void>;
  onError?(error: unknown): void;
}

/**
 * Keeps a manually fetched job's lock alive: BullMQ renews locks only for jobs its own processor
 * runs. A lock that cannot be renewed before it expires is treated as lost, since the stalled
 * checker will hand the job to another slot.
 *
 * Whether the lock is still held is judged on this host's monotonic clock, never on a Redis call
 * settling: with Redis cut off, ioredis queues or sends commands that may not answer for minutes.
 * A renewal holds the lock until a lock duration after it was *sent*; a local deadline timer
 * declares the lock lost at that moment, answered or not. After a freeze (SIGSTOP, a paused VM)
 * the timer may run late, so a caller about to act on the job asks `holdsLock()` first.
 */
export class LockRenewal {
  #timer: NodeJS.Timeout | undefined;
  #deadline: NodeJS.Timeout | undefined;
  /** Monotonic time (performance.now()) until which the lock is known to be ours. */
  #heldUntil = 0;
  #renewing = false;
  #stopped = false;
  #lost = false;

  readonly #job: Job;
  readonly #token: string;
  readonly #options: LockRenewalOptions;

  constructor(job: Job, token: string, options: LockRenewalOptions) {
    this.#job = job;
    this.#token = token;
    this.#options = options;
  }

  /** Starts renewing; the lock was taken (by the fetch) just before, so it counts as fresh now. */
  start(): this {
    this.#held(performance.now());
    this.#schedule();
    return this;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#deadline);
  }

  /** Whether the lock is still ours at `now` (monotonic ms), as far as the renewals prove it. */
  holdsLock(now = performance.now()): boolean {
    return !this.#lost && now < this.#heldUntil;
  }

  /** Milliseconds the lock is known to be ours from `now` (0 when it is not). */
  remainingMs(now = performance.now()): number {
    return this.holdsLock(now) ? this.#heldUntil - now : 0;
  }

  /** The lock is ours until a lock duration after `sentAt`; the deadline moves with it. */
  #held(sentAt: number): void {
    this.#heldUntil = Math.max(this.#heldUntil, sentAt + this.#options.lockDurationMs);
    this.#armDeadline();
  }

  #armDeadline(): void {
    clearTimeout(this.#deadline);
    // A renewal answered after the lock it renewed ran out (a starved process) leaves a deadline
    // already past: it expires now (a negative delay is a TimeoutNegativeWarning and means 1 ms).
    this.#deadline = setTimeout(() => this.#expire(), Math.max(0, this.#heldUntil - performance.now()));
  }

  #expire(): void {
    if (this.#stopped || this.#lost) return;
    // A deadline timer that ran early (or a renewal that landed meanwhile) is not an expiry.
    if (performance.now() < this.#heldUntil) this.#armDeadline();
    else this.#declareLost(`the lock could not be renewed for ${this.#options.lockDurationMs} ms`);
  }

  #declareLost(reason: string): void {
    this.#lost = true;
    this.stop();
    this.#options.onLost(reason);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#renew(), this.#options.renewEveryMs);
  }

  async #renew(): Promise<void> {
    if (this.#stopped) return;
    // A renewal still unanswered (Redis cut off) is not piled upon; the deadline stands meanwhile.
    if (this.#renewing) {
      this.#schedule();
      return;
    }
    this.#renewing = true;
    const sentAt = performance.now();
    try {
      const renewed = await this.#job.extendLock(this.#token, this.#options.lockDurationMs);
      if (this.#stopped) return;
      if (Number(renewed) !== 1) {
        this.#declareLost("the job's lock was taken over (it was re-queued after a stall)");
        return;
      }
      this.#held(sentAt);
      await this.#options.onRenewed?.();
    } catch (error) {
      if (this.#stopped) return;
      this.#options.onError?.(error);
    } finally {
      this.#renewing = false;
    }
    this.#schedule();
  }
}
