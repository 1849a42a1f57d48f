import { readFile } from "node:fs/promises";

/** The values of a JSON-lines file, in order; none while the file is not there yet. */
export async function readJsonLines<T = Record<string, unknown>>(file: string): Promise<T[]> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as T);
}
