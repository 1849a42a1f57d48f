import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { type SplitLine, splitLines } from "../src/line-splitter.js";

async function split(chunks: (string | Buffer)[], maxBytes: number): Promise<SplitLine[]> {
  const stream = new PassThrough();
  const lines: SplitLine[] = [];
  const ended = new Promise<void>((resolve) =>
    splitLines(stream, maxBytes, (line) => lines.push(line), resolve),
  );
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  await ended;
  return lines;
}

describe("splitLines", () => {
  it("splits on \\n, \\r\\n and a lone \\r, across chunk boundaries, and keeps a last line without ending", async () => {
    const lines = await split(["one\ntw", "o\r", "\nthree\rfour\r\n\nfi", "ve"], 100);
    expect(lines.map((line) => line.text)).toEqual(["one", "two", "three", "four", "", "five"]);
    expect(lines.every((line) => line.cutBytes === 0)).toBe(true);
  });

  it("decodes a character split between chunks", async () => {
    const bytes = Buffer.from("é東\n");
    expect(await split([bytes.subarray(0, 1), bytes.subarray(1, 4), bytes.subarray(4)], 100)).toEqual([
      { text: "é東", cutBytes: 0 },
    ]);
  });

  // Found by the chaos suite: readline buffered a 600 MiB stderr line and threw "Invalid string length".
  it("keeps at most maxBytes of a line and counts the rest without buffering it", async () => {
    const lines = await split(["x".repeat(5), "y".repeat(10), "z\nnext\n"], 8);
    expect(lines).toEqual([
      { text: "xxxxxyyy", cutBytes: 8 },
      { text: "next", cutBytes: 0 },
    ]);
  });
});
