import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  EngineJobError,
  EngineSupervisor,
  type EngineSupervisorOptions,
  type GenerateRequest,
  type JobHandlers,
  type ReadyMessage,
  type ResultMessage,
} from "@wgp-farm/engine";

/** How long the simulated WanGP takes: a model load, and each denoising step. */
export interface VirtualTimings {
  loadMs: number;
  stepMs: number;
}

/** One line of a host's record file per job the virtual engine started. */
export interface EngineRecord {
  id: string;
  model: string;
  slot: string;
  /** When the worker handed the job to the engine (epoch ms). */
  t: number;
  /** Model load time this job paid (ms), 0 when the model was loaded. */
  load_ms: number;
  generation_ms: number;
}

/**
 * A slot's engine with no process behind it (a simulator fixture, not a product engine): a job
 * loads its model when it is not the loaded one, then runs `steps` steps, reporting progress as
 * engine-py does, and writes one small file as its output. Every job is appended to `recordFile`.
 */
export class VirtualEngine extends EngineSupervisor {
  readonly #timings: VirtualTimings;
  readonly #recordFile: string;
  readonly #slot: string;
  #loaded: string | null = null;
  #ready: ReadyMessage | undefined;
  #running: AbortController | undefined;
  #stopped = false;

  constructor(options: EngineSupervisorOptions, timings: VirtualTimings, recordFile: string) {
    super(options);
    this.#timings = timings;
    this.#recordFile = recordFile;
    this.#slot = path.basename(options.configDir ?? "slot");
  }

  override get readyInfo(): ReadyMessage | undefined {
    return this.#ready;
  }

  override async start(): Promise<ReadyMessage> {
    this.#ready = {
      type: "ready",
      protocol: 1,
      adapter: "dry-run",
      engine_version: "virtual",
      wangp_version: null,
      python: "none",
      gpu: { name: "virtual GPU", vram_mb: 0 },
      pid: process.pid,
      max_line_bytes: 1 << 20,
      wangp: null,
    };
    queueMicrotask(() => this.emit("ready", this.#ready as ReadyMessage));
    return this.#ready;
  }

  override async whenReady(signal?: AbortSignal): Promise<ReadyMessage> {
    if (this.#stopped || !this.#ready) throw new Error("the virtual engine is not running");
    if (signal?.aborted) throw signal.reason;
    return this.#ready;
  }

  override async generate(request: GenerateRequest, handlers: JobHandlers = {}): Promise<ResultMessage> {
    const model = String(request.settings.model_type ?? request.settings.model ?? "");
    const steps = Math.max(1, Number(request.settings.num_inference_steps ?? request.settings.steps ?? 1));
    const loadMs = model === this.#loaded ? 0 : this.#timings.loadMs;
    const generationMs = steps * this.#timings.stepMs;
    const record: EngineRecord = {
      id: request.id,
      model,
      slot: this.#slot,
      t: Date.now(),
      load_ms: loadMs,
      generation_ms: generationMs,
    };
    appendFileSync(this.#recordFile, `${JSON.stringify(record)}\n`);
    const stop = new AbortController();
    this.#running = stop;
    const signal = AbortSignal.any([stop.signal, ...(handlers.signal ? [handlers.signal] : [])]);
    try {
      if (loadMs > 0) {
        handlers.onStatus?.({ type: "status", id: request.id, text: `Loading model ${model}` });
        await sleep(loadMs, undefined, { signal });
        this.#loaded = model;
      }
      for (let step = 1; step <= steps; step++) {
        await sleep(this.#timings.stepMs, undefined, { signal });
        handlers.onProgress?.({
          type: "progress",
          id: request.id,
          phase: "denoising",
          step,
          total: steps,
          percent: (100 * step) / steps,
          text: `step ${step}/${steps}`,
        });
      }
    } catch {
      throw new EngineJobError({ kind: "cancelled", jobId: request.id, message: "stopped" });
    } finally {
      this.#running = undefined;
    }
    const file = path.join(request.outputDir, `${request.outputName}.mp4`);
    mkdirSync(request.outputDir, { recursive: true });
    writeFileSync(file, "virtual");
    return {
      type: "result",
      id: request.id,
      files: [file],
      main_file: file,
      seed: 0,
      model_type: model,
      settings: request.settings,
      timings: {
        model_load_s: loadMs / 1000,
        generation_s: generationMs / 1000,
        total_s: (loadMs + generationMs) / 1000,
      },
    };
  }

  override cancel(): boolean {
    this.#running?.abort();
    return this.#running !== undefined;
  }

  override async recycleIfDue(): Promise<boolean> {
    return false;
  }

  override async shutdown(): Promise<undefined> {
    this.#stopped = true;
    this.#running?.abort();
    return undefined;
  }
}

/** An empty record file (each host has its own). */
export function createRecordFile(file: string): void {
  writeFileSync(file, "");
}
