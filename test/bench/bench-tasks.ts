/**
 * The generated tasks every intake benchmark feeds the farm (import-tasks, the HTTP API): valid, ten
 * models, CausVid on 1 in 7, a random seed on 1 in 3. `idPrefix` keeps the ids and output folders of
 * several runs into one Redis apart.
 */
import { createWriteStream } from "node:fs";

/** Ten models of different families, as a busy farm has them (the load scenario uses the same). */
export const MODELS = [
  "t2v",
  "vace_14B",
  "i2v",
  "t2v_1.3B",
  "i2v_720p",
  "vace_1.3B",
  "t2v_2_2",
  "flux",
  "ltxv_13B",
  "hunyuan",
];

export function benchTask(i: number, idPrefix = "bench"): Record<string, unknown> {
  return {
    task_id: `${idPrefix}-${i}`,
    prompt: `A generated prompt number ${i}, cinematic lighting, highly detailed`,
    model: MODELS[i % MODELS.length],
    resolution: i % 2 ? "832x480" : "960x544",
    frames: 81,
    seed: i % 3 ? i : -1,
    steps: 20 + (i % 10),
    use_causvid_lora: i % 7 === 0,
    output_sub_dir: `${idPrefix}/batch-${i % 100}/task-${i}`,
  };
}

/** Writes `count` generated tasks as one JSON array, the way a user's tasks file looks. */
export async function writeTaskFile(file: string, count: number, idPrefix = "bench"): Promise<void> {
  const out = createWriteStream(file);
  out.write("[\n");
  for (let i = 0; i < count; i++) {
    if (!out.write(`${i ? ",\n" : ""}${JSON.stringify(benchTask(i, idPrefix))}`))
      await new Promise<void>((resolve) => out.once("drain", () => resolve()));
  }
  await new Promise<void>((resolve) => out.end("\n]\n", () => resolve()));
}
