import type { PublishClaims } from "@wgp-farm/queue";
import type { HeldJob } from "./job-finisher.js";
import type { LockRenewal } from "./lock-renewal.js";

/** The attempt no longer owns its job: it must publish nothing. */
export class JobLostError extends Error {
  override name = "JobLostError";
}

/**
 * Part of the publish lease kept in reserve: the lease runs on Redis's clock from when Redis ran the
 * claim, this host measures it from before it sent the claim; the reserve covers the two clocks'
 * drift and the time the rename itself takes.
 */
const LEASE_RESERVE = 0.2;

/** The publish lease of the attempt, from the claim's send time (monotonic ms). */
interface Lease {
  until: number;
}

/**
 * The gate an attempt passes before it publishes anything. `claim` refuses an attempt whose lock is
 * stale on this host's clock (a freeze, a partition: it does not even ask Redis), then asks Redis to
 * check the lock token and record the claim atomically, which extends the lock by a lease. `check`,
 * called right before each rename, refuses once the lease has run out on this host's clock.
 */
export class PublishFence {
  readonly #claims: PublishClaims;
  readonly #renewal: LockRenewal;
  readonly #held: HeldJob;
  readonly #slotId: string;
  readonly #leaseMs: number;
  #lease: Lease | undefined;

  constructor(claims: PublishClaims, renewal: LockRenewal, held: HeldJob, slotId: string, leaseMs: number) {
    this.#claims = claims;
    this.#renewal = renewal;
    this.#held = held;
    this.#slotId = slotId;
    this.#leaseMs = leaseMs;
  }

  /** Whether the attempt may still act on its job, on this host's clock. */
  get holdsJob(): boolean {
    return this.#lease ? performance.now() < this.#lease.until : this.#renewal.holdsLock();
  }

  async claim(): Promise<void> {
    if (!this.#renewal.holdsLock()) {
      throw new JobLostError("the lock was not renewed for a lock duration (a freeze or a partition)");
    }
    const sentAt = performance.now();
    const { job, queue, taskId, token } = this.#held;
    const claimed = await this.#claims.claim({
      queue,
      taskId,
      token,
      attempt: job.attemptsStarted,
      slot: this.#slotId,
      leaseMs: this.#leaseMs,
    });
    if (!claimed)
      throw new JobLostError("another attempt holds the job's lock (the publish claim was refused)");
    this.#lease = { until: sentAt + this.#leaseMs * (1 - LEASE_RESERVE) };
    this.check();
  }

  /** Throws JobLostError unless a claim was granted and its lease still runs. */
  check(): void {
    if (!this.#lease) throw new JobLostError("publishing without a publish claim");
    if (performance.now() >= this.#lease.until) {
      throw new JobLostError(`the publish lease (${this.#leaseMs} ms) ran out before the rename`);
    }
  }
}
