/** Resolves on the first SIGINT or SIGTERM; a second one exits at once. */
export function untilStopSignal(): Promise<NodeJS.Signals> {
  const stopped = Promise.withResolvers<NodeJS.Signals>();
  const onSignal = (signal: NodeJS.Signals) => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.once("SIGINT", () => process.exit(130));
    process.once("SIGTERM", () => process.exit(143));
    stopped.resolve(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return stopped.promise;
}
