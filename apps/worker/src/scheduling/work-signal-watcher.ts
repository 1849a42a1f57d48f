import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@wgp-farm/config";
import {
  type FarmKeys,
  readWorkEntry,
  settleWithin,
  type WorkEntry,
  WorkSignal,
  workBroadcastKey,
  workInboxKey,
} from "@wgp-farm/queue";
import type { Redis } from "ioredis";
import { IdleRoster } from "./idle-roster.js";
import { markPickup, tracingPickup } from "./pickup-trace.js";
import type { WakeSignal } from "./wake-signal.js";

/** How often work is passed on by named processes that had no idle slot left. */
const MAX_HOPS = 3;
/**
 * The model list is re-read on every this many-th XREAD timeout only: a new model queue is announced
 * on the model stream, and the re-read (every process, every round) is only the net under it.
 */
const MODEL_REREAD_ROUNDS = 6;

type StreamReply = [stream: string, entries: [id: string, fields: string[]][]][] | null;

/** Streams are read from an id made of a time (ms): an entry id is `<ms>-<seq>` on the Redis clock. */
function idAt(ms: number): string {
  return `${ms}-0`;
}

/**
 * Wakes idle slots the moment work appears, without polling and without reading the queues' own
 * event streams (they carry every progress update of the farm): one blocking XREAD (its own
 * connection) on the farm's work stream, written only by adds, retries, stalls, requeues and
 * resumes, and on the model stream (a new model queue). An entry wakes as many idle slots of this
 * process as it has tasks, those holding its model first, and only those when the slots holding it
 * farm-wide can clear it (`leaveToServers`): a single arrival then costs no decision anywhere. A
 * retry in backoff wakes slots when it is ready. With a command connection (`commands`) the process
 * keeps its entries on the farm's idle roster, and an entry that names processes wakes only those
 * (it reaches them on their own streams, not on the one every process blocks on): a named process
 * with no idle slot left passes the work on. On an XREAD timeout (every few re-reads the
 * model list as well) the one process per round that takes the recheck turn nudges one idle slot to look at every queue, the
 * slow fallback for work no one announced (a job added by another tool) and for the wait bound.
 */
export class WorkSignalWatcher {
  readonly #redis: Redis;
  readonly #keys: FarmKeys;
  readonly #wake: WakeSignal;
  readonly #logger: Logger;
  readonly #refreshMs: number;
  readonly #leaveToServers: (entry: WorkEntry) => boolean;
  readonly #lastIds = new Map<string, string>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #models: string[] = [];
  #timeouts = 0;
  #closed = false;
  #loop: Promise<void> | undefined;
  readonly #onModels = new Set<(models: readonly string[]) => void>();
  readonly #roster: IdleRoster | undefined;
  readonly #work: WorkSignal | undefined;

  constructor(
    redis: Redis,
    keys: FarmKeys,
    wake: WakeSignal,
    logger: Logger,
    options: {
      refreshMs?: number;
      /** Whether the slots already holding the entry's model are enough for it (no other slot need decide). */
      leaveToServers?(entry: WorkEntry): boolean;
      /** The process's command connection: with it, the process is on the idle roster. */
      commands?: Redis;
    } = {},
  ) {
    this.#redis = redis;
    this.#keys = keys;
    this.#wake = wake;
    this.#logger = logger;
    this.#refreshMs = options.refreshMs ?? 5_000;
    this.#leaveToServers = options.leaveToServers ?? (() => false);
    if (options.commands) {
      this.#roster = new IdleRoster(options.commands, keys, logger);
      this.#work = new WorkSignal(options.commands, keys);
    }
  }

  /** The model types that have a queue, as last read. */
  get models(): readonly string[] {
    return this.#models;
  }

  /** Called with the full list whenever a model queue appears. */
  onModelsChanged(listener: (models: readonly string[]) => void): void {
    this.#onModels.add(listener);
  }

  async start(): Promise<void> {
    const start = idAt(await this.#redisNowMs());
    for (const stream of this.#streams()) this.#lastIds.set(stream, start);
    await this.#refreshModels();
    if (this.#roster) this.#wake.useRoster(this.#roster);
    this.#loop = this.#run();
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    if (this.#roster) await settleWithin(this.#roster.close(), 1_000);
    this.#redis.disconnect();
    // A command queued while Redis was away may never settle: the loop is not waited for long.
    await settleWithin(this.#loop ?? Promise.resolve(), 1_000);
  }

  /**
   * The streams this process blocks on: new model queues, the work entries that name no process,
   * and (on the roster) those that name this one. An entry naming another process wakes no XREAD here.
   */
  #streams(): string[] {
    const streams = [this.#keys.modelEvents, workBroadcastKey(this.#keys)];
    if (this.#roster) streams.push(workInboxKey(this.#keys, this.#roster.id));
    return streams;
  }

  async #run(): Promise<void> {
    const streams = this.#streams();
    while (!this.#closed) {
      let reply: StreamReply;
      try {
        reply = (await this.#redis.xread(
          "COUNT",
          1000,
          "BLOCK",
          this.#refreshMs,
          "STREAMS",
          ...streams,
          ...streams.map((stream) => this.#lastIds.get(stream) ?? "$"),
        )) as StreamReply;
      } catch (error) {
        if (this.#closed) return;
        this.#logger.warn({ err: error }, "reading the work signal failed; retrying");
        await sleep(1_000);
        continue;
      }
      if (reply === null) {
        this.#timeouts += 1;
        if (this.#timeouts % MODEL_REREAD_ROUNDS === 0) {
          await this.#refreshModels().catch((error) =>
            this.#logger.warn({ err: error }, "reading the model list failed"),
          );
        }
        if (await this.#takeRecheckTurn()) this.#wake.nudge();
        continue;
      }
      if (tracingPickup()) this.#markRead(reply);
      await this.#handle(reply);
    }
  }

  async #handle(reply: NonNullable<StreamReply>): Promise<void> {
    const work: WorkEntry[] = [];
    for (const [stream, entries] of reply) {
      const last = entries.at(-1);
      if (last) this.#lastIds.set(stream, last[0]);
      if (stream === this.#keys.modelEvents) await this.#refreshModels();
      else {
        for (const [, fields] of entries) {
          const entry = readWorkEntry(fields);
          if (entry) work.push(entry);
        }
      }
    }
    for (const entry of work) {
      for (const model of entry.models) {
        if (entry.readyAt !== null && entry.readyAt > Date.now()) this.#wakeAt(model, entry.readyAt);
        else if (entry.to === null) this.#wake.notify(model, entry.count, this.#leaveToServers(entry));
        else if (this.#roster && entry.to.includes(this.#roster.id)) await this.#wakeNamed(model, entry);
      }
    }
  }

  /**
   * This process was named for `entry`: wakes its slots, or passes the work on when none is idle, at
   * most MAX_HOPS times (an idle slot that is deciding right now decides again: `notify` told it). Past that the work waits for the next slot that decides (every slot does when
   * its job ends, and one idle slot per round looks at every queue): waking every process instead
   * would keep the farm's slots deciding, and named processes with no idle slot, in a loop.
   */
  async #wakeNamed(model: string, entry: WorkEntry): Promise<void> {
    const hadIdleSlot = this.#wake.hasIdleSlot;
    this.#wake.notify(model, entry.count);
    if (hadIdleSlot || !this.#work || entry.hops >= MAX_HOPS) return;
    try {
      await this.#wake.syncRoster();
      await this.#work.announce(
        Array.from({ length: entry.count }, () => model),
        entry.reason,
        [],
        entry.hops + 1,
      );
    } catch (error) {
      this.#logger.warn({ err: error, model }, "passing work on failed");
    }
  }

  #markRead(reply: NonNullable<StreamReply>): void {
    const id = this.#roster?.id ?? null;
    const entries = reply
      .filter(([stream]) => stream !== this.#keys.modelEvents)
      .flatMap(([, list]) => list.map(([, fields]) => readWorkEntry(fields)));
    if (entries.length === 0) return;
    const named = entries.some((entry) => id !== null && entry?.to?.includes(id));
    const broadcast = entries.some((entry) => entry?.to === null);
    markPickup("read", { process: id, entries: entries.length, named, broadcast });
  }

  /**
   * One process of the farm per round looks for work no one announced (one all-queue read), not
   * every process: the fallback costs the same whatever the size of the farm.
   */
  async #takeRecheckTurn(): Promise<boolean> {
    try {
      return (await this.#redis.set(this.#keys.recheckTurn, "1", "PX", this.#refreshMs, "NX")) === "OK";
    } catch {
      return false;
    }
  }

  async #refreshModels(): Promise<void> {
    const models = (await this.#redis.smembers(this.#keys.models)).sort();
    if (models.every((model) => this.#models.includes(model))) return;
    this.#models = models;
    for (const listener of this.#onModels) listener(models);
  }

  /** One timer per model and ready time (to the 100 ms): a burst of retries does not arm a timer each. */
  #wakeAt(model: string, readyAt: number): void {
    const at = Math.ceil(readyAt / 100) * 100;
    const key = `${model}@${at}`;
    if (this.#timers.has(key)) return;
    const timer = setTimeout(
      () => {
        this.#timers.delete(key);
        this.#wake.notify(model);
      },
      Math.max(0, at - Date.now()),
    );
    timer.unref();
    this.#timers.set(key, timer);
  }

  async #redisNowMs(): Promise<number> {
    const [seconds, micros] = await this.#redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }
}
