import { IMMEDIATE_EXIT_CODES, STOP_SIGNALS, type StopSignal, surviveALostTerminal } from "@wgp-farm/worker";

/**
 * Resolves on the first stop signal (Ctrl+C, SIGTERM, or SIGHUP from a closed terminal or a dropped
 * SSH session); a second one exits at once.
 */
export function untilStopSignal(): Promise<StopSignal> {
  const stopped = Promise.withResolvers<StopSignal>();
  const onSignal = (signal: StopSignal) => {
    for (const each of STOP_SIGNALS) {
      process.off(each, onSignal);
      process.once(each, () => process.exit(IMMEDIATE_EXIT_CODES[each]));
    }
    if (signal === "SIGHUP") surviveALostTerminal();
    stopped.resolve(signal);
  };
  for (const each of STOP_SIGNALS) process.on(each, onSignal);
  return stopped.promise;
}
