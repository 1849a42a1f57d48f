import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@wgp-farm/config";
import { type FarmEvent, type FarmEvents, parseEntries, type StreamEntry } from "@wgp-farm/queue";
import type { Redis } from "ioredis";
import type { TaskOwners } from "../tasks/task-owners.js";
import { renderEvent } from "./sse-frames.js";

/** An event as the hub hands it out: rendered once for every client, with its task's API owner. */
export interface HubEvent {
  event: FarmEvent;
  /** The id of the token that submitted the task over the API; null for tasks imported otherwise. */
  owner: string | null;
  /** The SSE frame (`id`, `event`, `data`). */
  frame: string;
}

export interface HubListener {
  deliver(events: readonly HubEvent[]): void;
  heartbeat(): void;
}

export interface EventHubOptions {
  heartbeatMs: number;
  /** How long one blocking read waits before it reads again (bounds the shutdown). */
  blockMs?: number;
  logger: Logger;
}

const READ_COUNT = 500;

/**
 * One blocking XREAD per API process on the farm's event log, fanned out to every SSE client: a
 * thousand clients still mean one Redis connection. Each batch of events is rendered once and its
 * tasks' owners looked up once, whatever the number of clients.
 */
export class EventHub {
  readonly #reader: Redis;
  readonly #log: FarmEvents;
  readonly #owners: TaskOwners;
  readonly #options: EventHubOptions;
  readonly #listeners = new Set<HubListener>();
  readonly #stopping = new AbortController();
  #loop: Promise<void> | undefined;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(reader: Redis, log: FarmEvents, owners: TaskOwners, options: EventHubOptions) {
    this.#reader = reader;
    this.#log = log;
    this.#owners = owners;
    this.#options = options;
  }

  get log(): FarmEvents {
    return this.#log;
  }

  get clients(): number {
    return this.#listeners.size;
  }

  /** Starts following the log from its current end. */
  async start(): Promise<void> {
    const from = (await this.#log.lastId()) ?? "0-0";
    this.#loop = this.#follow(from);
    this.#heartbeat = setInterval(() => {
      for (const listener of this.#listeners) listener.heartbeat();
    }, this.#options.heartbeatMs);
  }

  subscribe(listener: HubListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Events after `afterId` read straight from the log (a resuming client's catch-up), with owners. */
  async after(afterId: string, count: number): Promise<HubEvent[]> {
    return this.#prepare(await this.#log.after(afterId, count));
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    clearInterval(this.#heartbeat);
    this.#reader.disconnect();
    await this.#loop;
  }

  async #follow(from: string): Promise<void> {
    let cursor = from;
    const { logger } = this.#options;
    while (!this.#stopping.signal.aborted) {
      try {
        const reply = (await this.#reader.xread(
          "COUNT",
          READ_COUNT,
          "BLOCK",
          this.#options.blockMs ?? 5_000,
          "STREAMS",
          this.#log.key,
          cursor,
        )) as [string, StreamEntry[]][] | null;
        const entries = reply?.[0]?.[1] ?? [];
        if (entries.length === 0) continue;
        // The cursor moves once the batch is ready: a failed owner lookup reads the batch again.
        const events = await this.#prepare(parseEntries(entries, logger));
        cursor = entries.at(-1)?.[0] ?? cursor;
        for (const listener of this.#listeners) listener.deliver(events);
      } catch (error) {
        if (this.#stopping.signal.aborted) return;
        logger.warn({ err: error }, "reading the farm's event log failed; trying again");
        await sleep(1_000, undefined, { signal: this.#stopping.signal }).catch(() => undefined);
      }
    }
  }

  async #prepare(events: readonly FarmEvent[]): Promise<HubEvent[]> {
    if (events.length === 0) return [];
    const owners = await this.#owners.ownersOf([...new Set(events.map((event) => event.task_id))]);
    return events.map((event) => ({
      event,
      owner: owners.get(event.task_id) ?? null,
      frame: renderEvent(event),
    }));
  }
}
