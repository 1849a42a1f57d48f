/**
 * A one-line progress display on stderr for long work (large imports, downloads). Does nothing when
 * stderr is not a terminal, so logs and pipes stay clean.
 */
export class ProgressBar {
  private lastDraw = 0;
  private readonly enabled: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number | undefined,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = stream.isTTY === true;
  }

  update(done: number, detail = ""): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.draw(done, detail);
  }

  finish(done: number, detail = ""): void {
    if (!this.enabled) return;
    this.draw(done, detail);
    this.stream.write("\n");
  }

  private draw(done: number, detail: string): void {
    const width = 24;
    let bar = "";
    if (this.total && this.total > 0) {
      const ratio = Math.min(1, done / this.total);
      const filled = Math.round(ratio * width);
      bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}% `;
    }
    this.stream.write(`\r${this.label} ${bar}${detail}\u001b[K`);
  }
}
