import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "@wgp-farm/config";
import { type FarmKeys, idleRosterKey } from "@wgp-farm/queue";
import type { Redis } from "ioredis";

/** A roster entry: "idle" (the process has an idle slot) or a model an idle slot of it holds. */
type Membership = string;
const ANY = "";

/**
 * This process's entries on the farm's idle roster: whether it has an idle slot, and which models
 * its idle slots hold. The work announcer names processes from it, so that an arrival wakes only
 * the few slots that can take it. An entry outlives a dead process by `ttlMs` at most.
 *
 * Entries are added before a slot waits (the slot then decides once more, so that work added
 * meanwhile is seen either by that decision or by the announcer), and removed lazily: a named process
 * that has no idle slot left passes the work on.
 */
export class IdleRoster {
  readonly id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  readonly #redis: Redis;
  readonly #keys: FarmKeys;
  readonly #ttlMs: number;
  readonly #logger: Logger;
  /** What Redis has (as far as this process knows). */
  readonly #published = new Set<Membership>();
  #syncing: Promise<void> = Promise.resolve();
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(redis: Redis, keys: FarmKeys, logger: Logger, ttlMs = 30_000) {
    this.#redis = redis;
    this.#keys = keys;
    this.#logger = logger;
    this.#ttlMs = ttlMs;
  }

  /** The entries a slot waiting while holding `holds` needs. */
  static membershipsOf(holds: string | null): Membership[] {
    return holds === null ? [ANY] : [ANY, holds];
  }

  /** Whether Redis already has every entry a slot holding `holds` needs. */
  covers(holds: string | null): boolean {
    return IdleRoster.membershipsOf(holds).every((membership) => this.#published.has(membership));
  }

  /** Adds the entries a slot holding `holds` needs, removing none (other slots may be about to wait). */
  include(holds: string | null): Promise<void> {
    return this.sync(() => new Set([...this.#published, ...IdleRoster.membershipsOf(holds)]));
  }

  /**
   * Makes Redis hold exactly `wanted` for this process (one round trip); resolves once it does.
   * Calls run one after the other, each on the latest `wanted` its caller computes.
   */
  sync(wanted: () => ReadonlySet<Membership>, refresh = false): Promise<void> {
    const run = this.#syncing.then(() => this.#write(wanted(), refresh));
    this.#syncing = run.catch((error) =>
      this.#logger.warn({ err: error }, "updating the idle roster failed"),
    );
    return run;
  }

  /** Re-publishes this process's entries now and then, so that they do not expire while true. */
  startHeartbeat(wanted: () => ReadonlySet<Membership>): void {
    this.#heartbeat ??= setInterval(
      () => void this.sync(wanted, true),
      Math.max(500, Math.floor(this.#ttlMs / 3)),
    );
    this.#heartbeat.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    await this.sync(() => new Set()).catch(() => undefined);
    this.#closed = true;
  }

  /** With `refresh`, every wanted entry is written again (a new expiry). */
  async #write(wanted: ReadonlySet<Membership>, refresh: boolean): Promise<void> {
    if (this.#closed) return;
    const added = [...wanted].filter((membership) => refresh || !this.#published.has(membership));
    const removed = [...this.#published].filter((membership) => !wanted.has(membership));
    if (added.length === 0 && removed.length === 0) return;
    const expiry = Date.now() + this.#ttlMs;
    const key = (membership: Membership) => idleRosterKey(this.#keys, membership === ANY ? null : membership);
    const pipeline = this.#redis.pipeline();
    for (const membership of removed) pipeline.zrem(key(membership), this.id);
    for (const membership of added) pipeline.zadd(key(membership), expiry, this.id);
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
    for (const membership of removed) this.#published.delete(membership);
    for (const membership of added) this.#published.add(membership);
  }
}
