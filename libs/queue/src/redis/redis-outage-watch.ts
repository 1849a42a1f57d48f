import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@wgp-farm/config";
import type { Redis } from "ioredis";

/** How often errors that come while every connection serves are logged again. */
const STRAY_ERROR_REPORT_MS = 30_000;

/** How long after a socket error its connection has surely seen the close that follows. */
const CLOSE_SETTLE_MS = 100;

/** A client that is reconnecting, or waiting to: not serving, and not given up either. */
const RECONNECTING = new Set(["connecting", "connect", "reconnecting", "close"]);

const WATCHES = new WeakMap<Redis, RedisOutageWatch>();

interface Outage {
  since: number;
  errors: number;
  lastError: string | undefined;
}

/**
 * One process's view of its Redis: every client it opens (the commands connection, the duplicates
 * it and BullMQ make for blocking reads and subscriptions) reports here. An outage is logged once when
 * it begins and once when every client is back, as structured lines; errors during it are counted,
 * not printed (ioredis would otherwise print "Unhandled error event" stacks many times a second).
 */
export class RedisOutageWatch {
  readonly #logger: Logger;
  readonly #target: string;
  readonly #clients = new Set<Redis>();
  #outage: Outage | undefined;
  #strayReportedAt = 0;

  /** The watch `client` reports to, when it came from `connectRedis` (or is a duplicate of one). */
  static of(client: Redis): RedisOutageWatch | undefined {
    return WATCHES.get(client);
  }

  constructor(logger: Logger, target: string) {
    this.#logger = logger;
    this.#target = target;
  }

  /** Whether Redis is away right now (from the first failure until every client is back). */
  get down(): boolean {
    return this.#outage !== undefined;
  }

  /**
   * Reports `client`'s connection events here, and those of every duplicate made from it, whoever
   * makes it (BullMQ duplicates the connection it is given for blocking reads).
   */
  watch(client: Redis, role: string): Redis {
    this.#clients.add(client);
    WATCHES.set(client, this);
    client.on("error", (error: Error) => this.#failed(role, error));
    client.on("reconnecting", () => this.#failed(role, undefined));
    client.on("ready", () => this.#recovered());
    client.on("end", () => {
      this.#clients.delete(client);
      this.#recovered();
    });
    const duplicate = client.duplicate.bind(client);
    client.duplicate = (...args: Parameters<Redis["duplicate"]>) =>
      this.watch(duplicate(...args), `${role} (duplicate)`);
    return client;
  }

  /**
   * A listener for the `error` event of something built on a watched client (a BullMQ Queue or
   * Worker re-emits its connection's errors): errors during an outage are already accounted for.
   */
  errorListener(what: string): (error: Error) => void {
    return (error) => this.#failed(what, error);
  }

  #failed(role: string, error: Error | undefined): void {
    if (this.#outage) {
      if (error) this.#count(error);
      return;
    }
    if (error && this.#allReady()) {
      // A socket error comes before its close (libuv closes the handle on a later turn of the loop):
      // look again once the close has been seen.
      void sleep(CLOSE_SETTLE_MS, undefined, { ref: false }).then(() => this.#strayOrOutage(role, error));
      return;
    }
    this.#outage = { since: Date.now(), errors: 0, lastError: undefined };
    if (error) this.#count(error);
    this.#logger.warn(
      { redis: this.#target, connection: role, ...(error ? { error: error.message } : {}) },
      "Redis unreachable; reconnecting",
    );
  }

  /** An error while every connection still reads as ready: part of an outage, or one failing alone. */
  #strayOrOutage(role: string, error: Error): void {
    if (this.#outage) {
      this.#count(error);
      return;
    }
    if (!this.#allReady()) {
      this.#failed(role, error);
      return;
    }
    // An error while every connection serves: not an outage, but worth a (rate-limited) line.
    if (Date.now() - this.#strayReportedAt < STRAY_ERROR_REPORT_MS) return;
    this.#strayReportedAt = Date.now();
    this.#logger.warn({ err: error, redis: this.#target, source: role }, "Redis error");
  }

  #count(error: Error): void {
    if (!this.#outage) return;
    this.#outage.errors += 1;
    this.#outage.lastError = error.message;
  }

  /** Some client serves and none is reconnecting (clients closed on purpose no longer count). */
  #allReady(): boolean {
    let serving = false;
    for (const client of this.#clients) {
      if (RECONNECTING.has(client.status)) return false;
      if (client.status === "ready") serving = true;
    }
    return serving;
  }

  #recovered(): void {
    const outage = this.#outage;
    if (!outage || !this.#allReady()) return;
    this.#outage = undefined;
    this.#logger.info(
      {
        redis: this.#target,
        down_ms: Date.now() - outage.since,
        errors: outage.errors,
        ...(outage.lastError ? { last_error: outage.lastError } : {}),
      },
      "Redis reachable again",
    );
  }
}
