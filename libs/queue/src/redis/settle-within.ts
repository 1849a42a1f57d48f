import { setTimeout as sleep } from "node:timers/promises";

/**
 * Waits for `work` to settle, or `ms` at most; says which came first. Shutdown steps use it so that a
 * Redis that went away (commands wait for a reconnect) or a stuck engine cannot keep a worker from exiting.
 */
export async function settleWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  const timer = new AbortController();
  const settled = await Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    sleep(Math.max(0, ms), false, { signal: timer.signal }).catch(() => false),
  ]);
  timer.abort();
  return settled;
}

/** How long a shutdown step that needs Redis may take: long while Redis answers, short once it is gone. */
export function redisStepMs(redis: { status: string }): number {
  return redis.status === "ready" ? 5_000 : 500;
}
