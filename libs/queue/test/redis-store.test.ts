import { defineScript, FarmConnection, type FarmKeys, RedisStore } from "@wgp-farm/queue";
import { uniquePrefix } from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";

let farm: FarmConnection;

beforeEach(async () => {
  farm = await FarmConnection.open(inject("redisUrl"), uniquePrefix("store"));
});
afterEach(async () => {
  await farm.close();
});

const APPEND_SCRIPT = "return redis.call('APPEND', KEYS[1], ARGV[1])";

/** A store with one script, as the farm's stores are written. */
class Appender extends RedisStore<FarmKeys> {
  readonly #append = this.script<number>("wgpTestAppend", 1, APPEND_SCRIPT);

  async append(name: string, text: string): Promise<number> {
    return this.#append([`${this.keys.prefix}:${name}`], text);
  }

  async read(name: string): Promise<string | null> {
    return this.redis.get(`${this.keys.prefix}:${name}`);
  }
}

describe("defineScript", () => {
  it("runs the script with its keys, then its arguments", async () => {
    const append = defineScript<number>(farm.redis, "wgpTestAppend", 1, APPEND_SCRIPT);
    const key = `${farm.keys.prefix}:text`;
    await expect(append([key], "ab")).resolves.toBe(2);
    await expect(append([key], 3)).resolves.toBe(3);
    await expect(farm.redis.get(key)).resolves.toBe("ab3");
  });

  it("registers a script once per connection, so that every store on it shares it", async () => {
    const first = new Appender(farm.redis, farm.keys);
    const second = new Appender(farm.redis, farm.keys);
    await first.append("shared", "x");
    await second.append("shared", "y");
    await expect(first.read("shared")).resolves.toBe("xy");
  });

  it("refuses a call with the wrong number of keys before it reaches Redis", () => {
    const append = defineScript<number>(farm.redis, "wgpTestAppend", 1, APPEND_SCRIPT);
    expect(() => append(["a", "b"], "x")).toThrow("wgpTestAppend takes 1 keys, not 2");
  });

  it("refuses a name the connection already uses for something else", () => {
    expect(() => defineScript(farm.redis, "status", 1, APPEND_SCRIPT)).toThrow("already has a member");
  });
});
