import { appendFile, readFile } from "node:fs/promises";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { type PickupMark, setPickupSink } from "@wgp-farm/worker";

/** One line of a host's trace file: a worker's pickup mark, or the host's event-loop delay over the last flush. */
export type TraceLine =
  | { t: number; mark: PickupMark; [detail: string]: string | number | boolean | null }
  | { t: number; mark: "loop-delay"; p50Ms: number; p99Ms: number; maxMs: number };

const FLUSH_MS = 250;

/**
 * A simulated host's pickup trace: every mark its workers make (`setPickupSink`), and the event-loop
 * delay of the host's one Node process (every worker of it shares that loop), appended to `file`
 * every quarter second (not on the marked path). Returns a stop that flushes what is left.
 */
export function tracePickupsTo(file: string): () => Promise<void> {
  let lines: TraceLine[] = [];
  setPickupSink((mark, detail) =>
    lines.push({ t: performance.timeOrigin + performance.now(), mark, ...detail }),
  );
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const flush = async () => {
    const ms = (ns: number) => Number((ns / 1e6).toFixed(2));
    lines.push({
      t: performance.timeOrigin + performance.now(),
      mark: "loop-delay",
      p50Ms: ms(delay.percentile(50)),
      p99Ms: ms(delay.percentile(99)),
      maxMs: ms(delay.max),
    });
    delay.reset();
    const out = lines;
    lines = [];
    await appendFile(file, out.map((line) => `${JSON.stringify(line)}\n`).join(""));
  };
  const timer = setInterval(() => void flush(), FLUSH_MS);
  timer.unref();
  return async () => {
    clearInterval(timer);
    setPickupSink(undefined);
    delay.disable();
    await flush();
  };
}

/** Every line of the hosts' trace files. */
export async function readTraces(files: readonly string[]): Promise<TraceLine[]> {
  const texts = await Promise.all(files.map((file) => readFile(file, "utf8").catch(() => "")));
  return texts.flatMap((text, host) =>
    text
      .split("\n")
      .filter(Boolean)
      .map((line) => ({ ...(JSON.parse(line) as TraceLine), host })),
  );
}
