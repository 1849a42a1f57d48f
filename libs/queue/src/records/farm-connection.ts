import type { Redis } from "ioredis";
import { type ConnectRedisOptions, connectRedis } from "../redis/redis-connection.js";
import { redisStepMs, settleWithin } from "../redis/settle-within.js";
import { DEFAULT_PREFIX, FarmKeys } from "./farm-keys.js";
import { ModelQueues } from "./model-queues.js";
import { WorkSignal } from "./work-signal.js";

/** One process's handle on the farm's Redis: the connection, the key names and the model queues. */
export class FarmConnection {
  private constructor(
    readonly url: string,
    readonly redis: Redis,
    readonly keys: FarmKeys,
    readonly queues: ModelQueues,
    /** The farm's "work may be ready" signal: whoever puts a job where a worker can fetch it announces it. */
    readonly work: WorkSignal,
  ) {}

  static async open(
    url: string,
    prefix = DEFAULT_PREFIX,
    options: ConnectRedisOptions = {},
  ): Promise<FarmConnection> {
    const redis = await connectRedis(url, options);
    const keys = new FarmKeys(prefix);
    return new FarmConnection(url, redis, keys, new ModelQueues(redis, keys), new WorkSignal(redis, keys));
  }

  /** Closes the queues and the connection; bounded, so that a Redis that went away cannot hold up an exit. */
  async close(): Promise<void> {
    const closed = this.queues.close().then(() => this.redis.quit());
    closed.catch(() => this.redis.disconnect());
    if (!(await settleWithin(closed, redisStepMs(this.redis)))) this.redis.disconnect();
  }
}
