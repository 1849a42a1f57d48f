/**
 * Waits for `work`, or `ms` at most: its answer, or `error` (thrown) when it has not answered in
 * time. For work that may hang (a Redis command queued while its connection reconnects); the work
 * itself goes on, and a late rejection of it is handled here.
 */
export async function answerWithin<T>(
  work: Promise<T>,
  ms: number,
  error: Error | (() => Error),
): Promise<T> {
  const timeout = Promise.withResolvers<never>();
  const timer = setTimeout(
    () => timeout.reject(typeof error === "function" ? error() : error),
    Math.max(0, ms),
  );
  try {
    return await Promise.race([work, timeout.promise]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits for `work` to settle, or `ms` at most; says which came first. Shutdown steps use it so that a
 * Redis that went away (commands wait for a reconnect) or a stuck engine cannot keep a process from exiting.
 */
export async function settleWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  const settled = work.then(
    () => true,
    () => true,
  );
  return answerWithin(settled, ms, () => new Error("not settled")).catch(() => false);
}
