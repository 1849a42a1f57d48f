/** A value as the `--json` output of every command shows it. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** Writes a value as JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${jsonText(value)}\n`);
}

export function plural(count: number, word: string, pluralWord = `${word}s`): string {
  return `${count.toLocaleString("en-US")} ${count === 1 ? word : pluralWord}`;
}

/** A left-aligned text table with a header row. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
