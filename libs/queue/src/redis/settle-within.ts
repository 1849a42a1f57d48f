// The bounded waits live in @wgp-farm/config; settleWithin is re-exported here beside the Redis step it is used with.
export { settleWithin } from "@wgp-farm/config";

/** How long a shutdown step that needs Redis may take: long while Redis answers, short once it is gone. */
export function redisStepMs(redis: { status: string }): number {
  return redis.status === "ready" ? 5_000 : 500;
}
