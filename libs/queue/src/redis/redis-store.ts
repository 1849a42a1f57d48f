import type { Logger } from "@wgp-farm/config";
import type { Redis } from "ioredis";

/** A Lua script registered on a connection, called with its keys, then its arguments. */
export type RedisScript<Result> = (keys: readonly string[], ...args: (string | number)[]) => Promise<Result>;

/**
 * Registers `lua` on the connection as the command `name` (once per connection: ioredis then runs
 * it by its SHA, loading it again after a Redis restart) and returns it as a function that checks it
 * is given its `numberOfKeys` keys.
 */
export function defineScript<Result>(
  redis: Redis,
  name: string,
  numberOfKeys: number,
  lua: string,
): RedisScript<Result> {
  if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
  const command = (
    redis as unknown as Record<string, (...keysAndArgs: (string | number)[]) => Promise<Result>>
  )[name];
  if (typeof command !== "function") throw new Error(`the connection already has a member named ${name}`);
  return (keys, ...args) => {
    if (keys.length !== numberOfKeys)
      throw new Error(`${name} takes ${numberOfKeys} keys, not ${keys.length}`);
    return command.call(redis, ...keys, ...args);
  };
}

/**
 * What every Redis-backed store of the farm is built from: the connection, its key layout and, for
 * the stores that read persisted records, the logger that reports one it cannot read. The members
 * are `protected`, not `#private`, because they are the subclasses' to use.
 */
export abstract class RedisStore<Keys> {
  protected readonly redis: Redis;
  protected readonly keys: Keys;
  protected readonly logger: Logger | undefined;

  constructor(redis: Redis, keys: Keys, logger?: Logger) {
    this.redis = redis;
    this.keys = keys;
    this.logger = logger;
  }

  /** `defineScript` on this store's connection. */
  protected script<Result>(name: string, numberOfKeys: number, lua: string): RedisScript<Result> {
    return defineScript(this.redis, name, numberOfKeys, lua);
  }
}
