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
 */
export class LockRenewal {
  #timer: NodeJS.Timeout | undefined;
  #lastRenewedAt = Date.now();
  #stopped = false;

  readonly #job: Job;
  readonly #token: string;
  readonly #options: LockRenewalOptions;

  constructor(job: Job, token: string, options: LockRenewalOptions) {
    this.#job = job;
    this.#token = token;
    this.#options = options;
  }

  start(): this {
    this.#lastRenewedAt = Date.now();
    this.#schedule();
    return this;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#renew(), this.#options.renewEveryMs);
  }

  async #renew(): Promise<void> {
    if (this.#stopped) return;
    try {
      const renewed = await this.#job.extendLock(this.#token, this.#options.lockDurationMs);
      if (this.#stopped) return;
      if (Number(renewed) !== 1) {
        this.stop();
        this.#options.onLost("the job's lock was taken over (it was re-queued after a stall)");
        return;
      }
      this.#lastRenewedAt = Date.now();
      await this.#options.onRenewed?.();
    } catch (error) {
      this.#options.onError?.(error);
      if (Date.now() - this.#lastRenewedAt >= this.#options.lockDurationMs) {
        this.stop();
        this.#options.onLost(`the lock could not be renewed for ${this.#options.lockDurationMs} ms`);
        return;
      }
    }
    this.#schedule();
  }
}
