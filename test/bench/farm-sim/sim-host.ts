/**
 * One simulated host machine of the farm: `workers` worker processes' worth of FarmWorkers (each with
 * its own Redis connections, as a process would have), `slotsPerWorker` slots each, on virtual
 * engines. Run as a child process by the simulator (`node sim-host.ts <json options>`; prints
 * "ready" once every slot is started, stops on SIGTERM), or in-process for the short test.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createLogger } from "@wgp-farm/config";
import { type FarmWorkerHandle, startFarmWorker } from "@wgp-farm/worker";
import { decisionFile, decisionLogger } from "./decision-records.ts";
import { tracePickupsTo } from "./pickup-trace-file.ts";
import { createRecordFile, VirtualEngine, type VirtualTimings } from "./virtual-engine.ts";

export interface SimHostOptions {
  redisUrl: string;
  prefix: string;
  dir: string;
  host: string;
  workers: number;
  slotsPerWorker: number;
  timings: VirtualTimings;
  /** Worker tuning the simulation sets (shorter stall detection, …). */
  worker?: { idleRecheckMs?: number; slotStatusTtlMs?: number };
  /** Keep every slot's scheduling decisions in `<host>.decisions.jsonl` (farm-sim/schedule-explain.ts). */
  explain?: boolean;
}

export interface SimHost {
  recordFile: string;
  /** The host's pickup trace (`pickup-trace-file.ts`): written by hosts run as processes only. */
  traceFile: string;
  /** Its slots' scheduling decisions (with `explain`). */
  decisionFile: string;
  /** CPU seconds the host's process has used so far. */
  cpuSeconds(): Promise<number>;
  stop(): Promise<void>;
}

export async function startSimHost(options: SimHostOptions): Promise<SimHost> {
  const recordFile = path.join(options.dir, `${options.host}.jsonl`);
  createRecordFile(recordFile);
  const logger = options.explain
    ? decisionLogger(options.host, decisionFile(options.dir, options.host))
    : createLogger({ name: options.host, level: "error" });
  const workers: FarmWorkerHandle[] = [];
  // Started a few at a time: a thousand slots publishing at once is a start-up storm of its own.
  for (let first = 0; first < options.workers; first += 4) {
    const batch = Array.from({ length: Math.min(4, options.workers - first) }, (_, i) =>
      startFarmWorker(
        {
          redisUrl: options.redisUrl,
          prefix: options.prefix,
          mainOutputDir: path.join(options.dir, "out"),
          stateDir: path.join(options.dir, "state"),
          engine: "dry-run",
          name: `${options.host}-w${first + i}`,
          slots: options.slotsPerWorker,
          gpus: Array.from({ length: options.slotsPerWorker }, (_, gpu) => gpu),
          nvidiaSmi: path.join(options.dir, "no-nvidia-smi"),
          logger,
          ...options.worker,
        },
        { createEngine: (engine) => new VirtualEngine(engine, options.timings, recordFile) },
      ),
    );
    workers.push(...(await Promise.all(batch)));
  }
  return {
    recordFile,
    traceFile: traceFileOf(options),
    decisionFile: decisionFile(options.dir, options.host),
    cpuSeconds: async () => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1e6;
    },
    stop: async () => {
      await Promise.all(workers.map((worker) => worker.stop()));
    },
  };
}

export function traceFileOf(options: SimHostOptions): string {
  return path.join(options.dir, `${options.host}.trace.jsonl`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const options = JSON.parse(process.argv[2] ?? "{}") as SimHostOptions;
  // One process per host: the trace's sink and event-loop delay are the process's own.
  const stopTracing = tracePickupsTo(traceFileOf(options));
  const host = await startSimHost(options);
  process.stdout.write("ready\n");
  process.once("SIGTERM", () => {
    void stopTracing()
      .then(() => host.stop())
      .then(() => process.exit(0));
  });
}
