import type { Readable } from "node:stream";

export interface SplitLine {
  /** The line without its ending, at most `maxBytes` of it (UTF-8, decoded as a whole). */
  text: string;
  /** Bytes of the line past `maxBytes`, dropped without being buffered (0 for a whole line). */
  cutBytes: number;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines ending in `\n`, `\r\n` or a lone `\r` (progress bars), keeping at
 * most `maxBytes` of each line in memory. readline would buffer a line of any length, and one over
 * V8's string limit (~512 MiB, e.g. a binary dump on stderr) threw out of its event handler and ended
 * the process. `onEnd` is called once, when the stream ends or closes, after the last line.
 */
export function splitLines(
  stream: Readable,
  maxBytes: number,
  onLine: (line: SplitLine) => void,
  onEnd: () => void = () => {},
): void {
  let parts: Buffer[] = [];
  let kept = 0;
  let cut = 0;
  let started = false;
  let afterCr = false;
  let ended = false;

  const emit = () => {
    const text = Buffer.concat(parts, kept).toString("utf8");
    parts = [];
    kept = 0;
    const cutBytes = cut;
    cut = 0;
    started = false;
    onLine({ text, cutBytes });
  };
  const keep = (chunk: Buffer, from: number, to: number) => {
    if (to <= from) return;
    started = true;
    const room = maxBytes - kept;
    const take = Math.min(room, to - from);
    if (take > 0) {
      parts.push(chunk.subarray(from, from + take));
      kept += take;
    }
    cut += to - from - Math.max(0, take);
  };

  stream.on("data", (chunk: Buffer) => {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte !== LF && byte !== CR) {
        afterCr = false;
        continue;
      }
      if (byte === LF && afterCr && i === start) {
        // The \n of a \r\n whose \r ended the previous line.
        afterCr = false;
        start = i + 1;
        continue;
      }
      keep(chunk, start, i);
      emit();
      afterCr = byte === CR;
      start = i + 1;
    }
    keep(chunk, start, chunk.length);
  });
  const finish = () => {
    if (ended) return;
    ended = true;
    if (started) emit();
    onEnd();
  };
  stream.on("end", finish);
  stream.on("close", finish);
}
