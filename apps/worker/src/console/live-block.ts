import type { LogDestination } from "@wgp-farm/config";
import type { SlotStatus } from "@wgp-farm/queue";
import { slotLine } from "./slot-line.js";

/** The terminal a live block draws on (stderr; a fake one in tests). */
export interface TerminalStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/** How often the block is redrawn for progress and ETAs when no log line comes. */
const REFRESH_MS = 500;

const ERASE_DOWN = "\u001b[J";
const cursorUp = (lines: number) => `\u001b[${lines}A\r`;

/**
 * The live view of a worker on a terminal: one line per GPU slot (task, phase, a progress bar, ETA)
 * kept below the scrolling log lines. Every log line goes through `write`, which erases the block,
 * prints the line and draws the block again in one write, so that the two never tear. Block lines
 * are cut to the terminal's width: a wrapped line would throw off the count of lines to erase.
 */
export class LiveBlock implements LogDestination {
  readonly #stream: TerminalStream;
  #source: () => readonly SlotStatus[] = () => [];
  /** Lines of the block now on screen, below the cursor's line start. */
  #drawn = 0;
  /** A log line not yet ended (pretty entries come whole; anything else may not). */
  #pending = "";
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** A block on `stream` when it is a terminal; undefined otherwise (plain log lines then). */
  static on(stream: TerminalStream): LiveBlock | undefined {
    return stream.isTTY === true ? new LiveBlock(stream) : undefined;
  }

  private constructor(stream: TerminalStream) {
    this.#stream = stream;
  }

  /** Shows the slots `source` gives, redrawn after each log line and every half second. */
  show(source: () => readonly SlotStatus[], refreshMs = REFRESH_MS): void {
    this.#source = source;
    this.#redraw("");
    clearInterval(this.#timer);
    this.#timer = setInterval(() => this.#redraw(""), refreshMs);
    this.#timer.unref();
  }

  /** Log text: printed above the block, whole lines at a time. */
  write(text: string): void {
    if (this.#closed) {
      this.#stream.write(text);
      return;
    }
    const buffered = this.#pending + text;
    const end = buffered.lastIndexOf("\n") + 1;
    this.#pending = buffered.slice(end);
    if (end > 0) this.#redraw(buffered.slice(0, end));
  }

  /** Stops redrawing and takes the block off the screen; later log text is written as it comes. */
  close(): void {
    if (this.#closed) return;
    clearInterval(this.#timer);
    this.#stream.write(this.#erase() + this.#pending);
    this.#pending = "";
    this.#closed = true;
  }

  #redraw(logText: string): void {
    if (this.#closed) return;
    const width = Math.max(20, (this.#stream.columns ?? 80) - 1);
    const now = Date.now();
    const lines = this.#source().map((status) => cut(slotLine(status, now), width));
    const block = lines.map((line) => `${line}\n`).join("");
    this.#stream.write(this.#erase() + logText + block);
    this.#drawn = lines.length;
  }

  #erase(): string {
    const erase = this.#drawn > 0 ? cursorUp(this.#drawn) + ERASE_DOWN : "";
    this.#drawn = 0;
    return erase;
  }
}

/** The first `width` characters of a line (the block's lines have no escape sequences). */
function cut(line: string, width: number): string {
  const chars = Array.from(line);
  return chars.length <= width ? line : chars.slice(0, width).join("");
}
