/**
 * Benchmark probe, loaded into a `wgp-farm worker` child with NODE_OPTIONS=--import: records when
 * each job's generate command is handed to engine-py and when its answer is back (epoch ms,
 * sub-millisecond), and writes the records to $WGP_FARM_BENCH_PROBE when the process exits.
 * Product code is not changed.
 */
import { writeFileSync } from "node:fs";
import { EngineProcess } from "@wgp-farm/engine";

const records: { id: string; t: number; end?: number }[] = [];
const now = () => performance.timeOrigin + performance.now();
const original = EngineProcess.prototype.generate;
EngineProcess.prototype.generate = function generate(this: EngineProcess, request, handlers) {
  const record: { id: string; t: number; end?: number } = { id: request.id, t: now() };
  const result = original.call(this, request, handlers);
  records.push(record);
  result.then(
    () => {
      record.end = now();
    },
    () => undefined,
  );
  return result;
};
process.on("exit", () => {
  const file = process.env.WGP_FARM_BENCH_PROBE;
  if (file) writeFileSync(file, records.map((record) => JSON.stringify(record)).join("\n"));
});
