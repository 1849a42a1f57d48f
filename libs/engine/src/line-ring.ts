/** The last `capacity` lines of a stream, oldest first: the engine's stderr for error reports. */
export class LineRing {
  readonly #capacity: number;
  readonly #lines: string[] = [];

  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
  }

  push(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.#capacity) this.#lines.shift();
  }

  lines(): string[] {
    return [...this.#lines];
  }
}
