/**
 * Reads a task list as a stream, one task at a time, so that a file of any size is imported in
 * bounded memory. Accepts a JSON array (the seed format) or a sequence of JSON values (JSON Lines,
 * concatenated or comma-separated objects). A task that does not parse is reported on its own and
 * the ones around it still come through.
 */

export type TaskRecord =
  | { kind: "task"; index: number; line: number; value: unknown }
  | { kind: "unparsable"; index: number; line: number; message: string; truncated?: true }
  | { kind: "file-error"; line: number; message: string; truncated?: true };

export interface TaskStreamOptions {
  /** A task's JSON text above this many characters is refused (default 1 MiB). */
  maxTaskChars?: number;
  /** Nesting deeper than this is refused (default 64). */
  maxDepth?: number;
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const NEWLINE = 0x0a;

/** Inside a JSON string only these change the scanner's state (a raw line break counts a line). */
const STRING_STOP = /["\\\n]/g;

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d || code === 0xfeff;
}

type Mode = "detect" | "array" | "sequence" | "done";

class TaskScanner {
  private mode: Mode = "detect";
  private depth = 0;
  private inString = false;
  private escaped = false;
  private parts: string[] = [];
  private partsLength = 0;
  private inElement = false;
  private elementLine = 1;
  private elementTooDeep = false;
  private elementTooLarge = false;
  private line = 1;
  private index = 0;

  constructor(
    private readonly maxChars: number,
    private readonly maxDepth: number,
  ) {}

  /** Feeds one chunk of text; returns the records it completed. */
  push(text: string): TaskRecord[] {
    const out: TaskRecord[] = [];
    let segmentStart = this.inElement ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code === NEWLINE) this.line++;
      if (this.mode === "done") {
        if (isWhitespace(code)) continue;
        // More after the closing ']': say so, and read on as further tasks, so none is dropped unseen.
        out.push({
          kind: "file-error",
          line: this.line,
          message: "unexpected text after the closing ']' of the task list; read as more tasks",
        });
        this.mode = "sequence";
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (code === BACKSLASH) this.escaped = true;
        else if (code === QUOTE) this.inString = false;
        else {
          // Most of a task list is string content: jump to the next character that matters there.
          STRING_STOP.lastIndex = i + 1;
          const stop = STRING_STOP.exec(text);
          i = (stop ? stop.index : text.length) - 1;
        }
        continue;
      }
      if (this.mode === "detect") {
        if (isWhitespace(code)) continue;
        if (code === OPEN_BRACKET) {
          this.mode = "array";
          this.depth = 1;
          continue;
        }
        this.mode = "sequence";
      }
      const base = this.mode === "array" ? 1 : 0;
      if (!this.inElement) {
        if (isWhitespace(code)) continue;
        if (this.mode === "array" && code === CLOSE_BRACKET && this.depth === 1) {
          this.mode = "done";
          this.depth = 0;
          continue;
        }
        if (code === COMMA) continue; // between tasks; a stray extra comma is forgiven
        this.startElement();
        segmentStart = i;
      }
      if (code === QUOTE) {
        this.inString = true;
        continue;
      }
      if (code === OPEN_BRACE || code === OPEN_BRACKET) {
        this.depth++;
        if (this.depth - base > this.maxDepth) this.elementTooDeep = true;
        continue;
      }
      const closing = code === CLOSE_BRACE || code === CLOSE_BRACKET;
      if (closing && this.depth > base) {
        this.depth--;
        if (this.depth === base && this.mode === "sequence") {
          this.appendSegment(text, segmentStart, i + 1);
          out.push(this.finishElement());
          segmentStart = -1;
        }
        continue;
      }
      const endsPrimitive =
        this.depth === base &&
        (code === COMMA ||
          (this.mode === "array" && code === CLOSE_BRACKET) ||
          (this.mode === "sequence" && isWhitespace(code)));
      if (endsPrimitive) {
        this.appendSegment(text, segmentStart, i);
        out.push(this.finishElement());
        segmentStart = -1;
        if (this.mode === "array" && code === CLOSE_BRACKET) {
          this.mode = "done";
          this.depth = 0;
        }
      }
    }
    if (this.inElement && segmentStart !== -1) this.appendSegment(text, segmentStart, text.length);
    return out;
  }

  /** Call once the input has ended. */
  end(): TaskRecord[] {
    const out: TaskRecord[] = [];
    if (this.inElement) {
      const base = this.mode === "array" ? 1 : 0;
      if (this.depth === base && !this.inString) {
        out.push(this.finishElement());
      } else {
        out.push({
          kind: "unparsable",
          index: this.index++,
          line: this.elementLine,
          message: "the input ends inside this task (truncated file?)",
          truncated: true,
        });
        this.inElement = false;
      }
    }
    if (this.mode === "array") {
      out.push({
        kind: "file-error",
        line: this.line,
        message: "the JSON array is not closed with ']' (truncated file?)",
        truncated: true,
      });
    }
    return out;
  }

  private startElement(): void {
    this.inElement = true;
    this.parts = [];
    this.partsLength = 0;
    this.elementLine = this.line;
    this.elementTooDeep = false;
    this.elementTooLarge = false;
  }

  private appendSegment(text: string, start: number, end: number): void {
    if (start < 0 || end <= start || this.elementTooLarge) return;
    this.partsLength += end - start;
    if (this.partsLength > this.maxChars) {
      this.elementTooLarge = true;
      this.parts = [];
      return;
    }
    this.parts.push(text.slice(start, end));
  }

  private finishElement(): TaskRecord {
    this.inElement = false;
    const index = this.index++;
    const line = this.elementLine;
    if (this.elementTooLarge) {
      return {
        kind: "unparsable",
        index,
        line,
        message: `the task is larger than ${this.maxChars} characters`,
      };
    }
    if (this.elementTooDeep) {
      return {
        kind: "unparsable",
        index,
        line,
        message: `the task is nested deeper than ${this.maxDepth} levels`,
      };
    }
    const json = this.parts.join("").trim();
    this.parts = [];
    try {
      return { kind: "task", index, line, value: JSON.parse(json) };
    } catch (error) {
      return { kind: "unparsable", index, line, message: `not valid JSON: ${(error as Error).message}` };
    }
  }
}

/** Yields the tasks of a JSON array or JSON Lines stream, in order, as they arrive. */
export async function* readTaskRecords(
  chunks: AsyncIterable<string | Uint8Array>,
  options: TaskStreamOptions = {},
): AsyncGenerator<TaskRecord> {
  const scanner = new TaskScanner(options.maxTaskChars ?? 1024 * 1024, options.maxDepth ?? 64);
  const decoder = new TextDecoder("utf-8");
  for await (const chunk of chunks) {
    const text = typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    yield* scanner.push(text);
  }
  const rest = decoder.decode();
  if (rest) yield* scanner.push(rest);
  yield* scanner.end();
}
