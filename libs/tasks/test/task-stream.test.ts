import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { readTaskRecords, type TaskRecord } from "../src/index.js";

async function read(chunks: string[], options = {}): Promise<TaskRecord[]> {
  const records: TaskRecord[] = [];
  for await (const record of readTaskRecords(Readable.from(chunks.map((c) => Buffer.from(c))), options))
    records.push(record);
  return records;
}

const values = (records: TaskRecord[]) => records.map((r) => (r.kind === "task" ? r.value : r.kind));

describe("readTaskRecords", () => {
  it("reads a JSON array split at any byte, multi-byte characters included", async () => {
    const text = JSON.stringify([{ a: 'é ✓ [ } " ,' }, { b: [1, { c: 2 }] }, { d: null }], null, 2);
    for (const size of [1, 2, 3, 7, 64]) {
      const bytes = Buffer.from(text);
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      const records: TaskRecord[] = [];
      for await (const record of readTaskRecords(Readable.from(chunks))) records.push(record);
      expect(values(records)).toEqual([{ a: 'é ✓ [ } " ,' }, { b: [1, { c: 2 }] }, { d: null }]);
    }
  });

  it("escapes, brackets and line breaks inside strings, split at any byte, keep tasks and line numbers", async () => {
    const text = '{"a":"x\\\\\\"} ] [ {\\u0022"}\n{"b":"raw\nbreak"}\n{"c":"\\\\"}\n{"d":3}\n';
    for (const size of [1, 2, 5, 1000]) {
      const chunks: string[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
      const records = await read(chunks);
      expect(records.map((r) => [r.kind, r.line])).toEqual([
        ["task", 1],
        ["unparsable", 2],
        ["task", 4],
        ["task", 5],
      ]);
      expect(values(records)).toEqual([{ a: 'x\\"} ] [ {"' }, "unparsable", { c: "\\" }, { d: 3 }]);
    }
  });

  it("reads JSON Lines and concatenated objects, with line numbers", async () => {
    const records = await read(['{"a":1}\n{"b":2}\n\n', '{"c":\n3}\n']);
    expect(records).toEqual([
      { kind: "task", index: 0, line: 1, value: { a: 1 } },
      { kind: "task", index: 1, line: 2, value: { b: 2 } },
      { kind: "task", index: 2, line: 4, value: { c: 3 } },
    ]);
  });

  it("reports a broken task by itself and goes on with the next ones", async () => {
    const records = await read(['[{"a":1}, {"b": }, {"c":3}]']);
    expect(values(records)).toEqual([{ a: 1 }, "unparsable", { c: 3 }]);
    const jsonl = await read(['{"a":1}\n{oops}\n{"c":3}\n']);
    expect(values(jsonl)).toEqual([{ a: 1 }, "unparsable", { c: 3 }]);
  });

  it("a truncated array keeps the complete tasks and reports the rest", async () => {
    const records = await read(['[{"a":1},{"b":[1,2']);
    expect(records.map((r) => r.kind)).toEqual(["task", "unparsable", "file-error"]);
  });

  it("refuses oversized and over-deep tasks without holding them", async () => {
    const big = JSON.stringify({ prompt: "x".repeat(5000) });
    const deep = `${"[".repeat(100)}${"]".repeat(100)}`;
    const records = await read([`[${big}, ${deep}, {"ok":true}]`], { maxTaskChars: 1000, maxDepth: 64 });
    expect(records.map((r) => (r.kind === "unparsable" ? r.message : r.kind))).toEqual([
      "the task is larger than 1000 characters",
      "the task is nested deeper than 64 levels",
      "task",
    ]);
  });

  it("non-objects come through for the validator to refuse; an empty array is no task", async () => {
    expect(values(await read(['[1, "s", null]']))).toEqual([1, "s", null]);
    expect(await read(["  [ ]  "])).toEqual([]);
    expect(await read([""])).toEqual([]);
  });

  it("text after the closing bracket is a file error, and is read on as more tasks", async () => {
    expect((await read(['[{"a":1}] trailing'])).map((r) => r.kind)).toEqual([
      "task",
      "file-error",
      "unparsable",
    ]);
    expect(values(await read(['[{"a":1}]\n{"b":2}\n']))).toEqual([{ a: 1 }, "file-error", { b: 2 }]);
  });
});
