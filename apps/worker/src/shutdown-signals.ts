import type { Logger } from "@wgp-farm/config";

export interface ShutdownSignalOptions {
  drainTimeoutMs: number;
  logger: Logger;
  /** Ends the process (default `process.exit`). */
  exit?: (code: number) => void;
}

const SIGNAL_EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * SIGTERM/SIGINT drain the worker (no new jobs, running ones finish up to the drain timeout, then
 * go back to their queues) and exit 0; a second signal exits at once (jobs still running are
 * re-queued by the stalled checker of another worker). Returns a function that removes the handlers.
 */
export function handleShutdownSignals(
  worker: { drain(timeoutMs?: number): Promise<void> },
  options: ShutdownSignalOptions,
): () => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let draining = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (draining) {
      options.logger.warn({ signal }, "second signal: exiting now");
      exit(SIGNAL_EXIT_CODES[signal] ?? 1);
      return;
    }
    draining = true;
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
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return () => {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  };
}
