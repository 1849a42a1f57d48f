import { open } from "node:fs/promises";
import type { EngineRecord } from "./virtual-engine.ts";

/**
 * The virtual engines' records (one JSON line per job started, one file per host), read as the
 * files grow: each read parses only the lines appended since the last one. The arrivals phase polls
 * it every few milliseconds while a pickup is under way, so a poll must cost next to nothing: parsing
 * every record every time took a core of this machine away from the farm it measures.
 */
export class EngineRecords {
  readonly #files: readonly string[];
  readonly #offsets: number[];
  /** Per file, the bytes of a line not yet complete. */
  readonly #partial: string[];
  readonly #records: EngineRecord[] = [];
  readonly #ids = new Set<string>();

  constructor(files: readonly string[]) {
    this.#files = files;
    this.#offsets = files.map(() => 0);
    this.#partial = files.map(() => "");
  }

  /** Every record so far. */
  async all(): Promise<readonly EngineRecord[]> {
    await Promise.all(this.#files.map((file, i) => this.#readNew(file, i)));
    return this.#records;
  }

  /** Whether a job of `id` has started on an engine. */
  async has(id: string): Promise<boolean> {
    if (this.#ids.has(id)) return true;
    await this.all();
    return this.#ids.has(id);
  }

  async #readNew(file: string, i: number): Promise<void> {
    const handle = await open(file, "r");
    try {
      const { size } = await handle.stat();
      const from = this.#offsets[i] ?? 0;
      if (size <= from) return;
      const buffer = Buffer.alloc(size - from);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, from);
      this.#offsets[i] = from + bytesRead;
      const lines = (this.#partial[i] + buffer.subarray(0, bytesRead).toString("utf8")).split("\n");
      this.#partial[i] = lines.pop() ?? "";
      for (const line of lines.filter(Boolean)) {
        const record = JSON.parse(line) as EngineRecord;
        this.#records.push(record);
        this.#ids.add(record.id);
      }
    } finally {
      await handle.close();
    }
  }
}
