import { logsArePretty, routeLogs } from "@wgp-farm/config";
import type { SlotStatus } from "@wgp-farm/queue";
import { LiveBlock, type TerminalStream } from "./live-block.js";

/** What `worker` and `headless` show on their terminal besides the log lines. */
export interface WorkerConsole {
  /** Shows the slots `source` gives (nothing when there is no live block). */
  show(source: () => readonly SlotStatus[]): void;
  /** Takes the block away; log lines go to stderr again. */
  close(): void;
}

/**
 * The live block on stderr when it is a terminal showing pretty logs: every logger created from now
 * on writes through it. Anything else (a pipe, a file, JSON logs) gets plain log lines, as before.
 */
export function openWorkerConsole(
  stream: TerminalStream = process.stderr,
  pretty = logsArePretty(),
): WorkerConsole {
  const block = pretty ? LiveBlock.on(stream) : undefined;
  if (!block) return { show: () => undefined, close: () => undefined };
  routeLogs(block);
  return {
    show: (source) => block.show(source),
    close: () => {
      routeLogs(undefined);
      block.close();
    },
  };
}
