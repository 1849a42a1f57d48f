import type { Logger } from "@wgp-farm/config";

export interface ShutdownSignalOptions {
  drainTimeoutMs: number;
  logger: Logger;
  /** Ends the process (default `process.exit`). */
  exit?: (code: number) => void;
}

/**
 * The signals that ask a long-running process to stop: Ctrl+C, `kill`/systemd, and a closed
 * terminal or dropped SSH session (SIGHUP), which must not cut off running jobs either.
 */
export const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const satisfies readonly NodeJS.Signals[];
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** How a process stopped at once by a second signal exits: 128 + the signal's number, as a shell reports it. */
export const IMMEDIATE_EXIT_CODES: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/**
 * Once the terminal is gone, writing to it fails (EIO); the shutdown must go on regardless, its log
 * lines lost with the terminal.
 */
export function surviveALostTerminal(): void {
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
}

/**
 * SIGTERM/SIGINT/SIGHUP drain the worker (no new jobs, running ones finish up to the drain timeout, then
 * go back to their queues) and exit 0; a second signal exits at once (jobs still running are
 * re-queued by the stalled checker of another worker). Returns a function that removes the handlers.
 */
export function handleShutdownSignals(
  worker: { drain(timeoutMs?: number): Promise<void> },
  options: ShutdownSignalOptions,
): () => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let draining = false;
  const onSignal = (signal: StopSignal) => {
    if (draining) {
      options.logger.warn({ signal }, "second signal: exiting now");
      exit(IMMEDIATE_EXIT_CODES[signal]);
      return;
    }
    draining = true;
    if (signal === "SIGHUP") surviveALostTerminal();
    options.logger.info(
      { signal, drain_timeout_s: options.drainTimeoutMs / 1000 },
      "shutting down: finishing running jobs (send the signal again to exit at once)",
    );
    worker.drain(options.drainTimeoutMs).then(
      () => exit(0),
      (error: unknown) => {
        options.logger.error({ err: error }, "drain failed");
        exit(1);
      },
    );
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return () => {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  };
}
