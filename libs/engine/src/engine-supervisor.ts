import { EventEmitter } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { type BackoffOptions, backoffDelay } from "./backoff.js";
import { EngineJobError, EngineStartError } from "./engine-errors.js";
import type { EngineProcessOptions } from "./engine-options.js";
import { type EngineExit, EngineProcess, type GenerateRequest, type JobHandlers } from "./engine-process.js";
import type { DescribedMessage, ReadyMessage, ResultMessage } from "./protocol.js";

export interface EngineSupervisorOptions extends EngineProcessOptions {
  restartBackoff?: BackoffOptions;
  /** An engine that stayed up this long before dying restarts without backoff growth. */
  stableAfterMs?: number;
  /** Consecutive failed starts after which the supervisor gives up. */
  maxStartAttempts?: number;
}

export interface EngineSupervisorEvents {
  ready: [ReadyMessage];
  exit: [EngineExit];
  restarting: [{ attempt: number; delayMs: number }];
  "gave-up": [EngineStartError];
}

/**
 * Keeps one EngineProcess alive for a GPU slot: starts it, and after it dies (crash, hang,
 * poisoned CUDA context) starts a new one with exponential backoff. Jobs submitted while it
 * restarts wait for the new engine.
 */
export class EngineSupervisor extends EventEmitter<EngineSupervisorEvents> {
  readonly #options: EngineSupervisorOptions;
  #engine: EngineProcess | undefined;
  #available: Promise<EngineProcess> | undefined;
  #attempt = 0;
  #startedAt = 0;
  readonly #stopping = new AbortController();

  constructor(options: EngineSupervisorOptions) {
    super();
    this.#options = options;
  }

  /** The current engine process (undefined before the first start). */
  get engine(): EngineProcess | undefined {
    return this.#engine;
  }

  /** Starts the first engine; rejects with EngineStartError after maxStartAttempts failures. */
  async start(): Promise<ReadyMessage> {
    this.#available = this.#launch();
    const engine = await this.#available;
    return engine.readyInfo as ReadyMessage;
  }

  /** Runs a job on the current engine, waiting for a restart in progress. */
  async generate(request: GenerateRequest, handlers?: JobHandlers): Promise<ResultMessage> {
    const engine = await this.#whenAvailable(request.id);
    try {
      const result = await engine.generate(request, handlers);
      this.#served();
      return result;
    } catch (error) {
      if (error instanceof EngineJobError && !error.engineLost && error.kind !== "busy") this.#served();
      throw error;
    }
  }

  /**
   * The engine saw a job through (a result, or a failure it reported and survived): it is not crash
   * looping, so the next restart starts the backoff over. Without this, tasks that crash or hang their
   * engine (until they are quarantined) grew the delay of every later restart of the slot toward a
   * minute, since the engine they killed had been up for less than `stableAfterMs`.
   */
  #served(): void {
    this.#attempt = 0;
  }

  async describe(modelType: string, timeoutMs?: number): Promise<DescribedMessage> {
    const engine = await this.#whenAvailable(`describe ${modelType}`);
    return engine.describe(modelType, timeoutMs);
  }

  cancel(): boolean {
    return this.#engine?.cancel() ?? false;
  }

  /** Stops restarting and shuts the current engine down. */
  async shutdown(): Promise<EngineExit | undefined> {
    this.#stopping.abort();
    return this.#engine?.shutdown();
  }

  /** The engine to use now: waits for a start or restart in progress, and skips an engine that
   * is going away (its exit triggers the restart this then waits for). */
  async #whenAvailable(what: string): Promise<EngineProcess> {
    for (;;) {
      const available = this.#available;
      if (!available) throw new Error("EngineSupervisor not started");
      let engine: EngineProcess;
      try {
        engine = await available;
      } catch (error) {
        throw this.#unavailable(what, `no engine available: ${(error as Error).message}`, error);
      }
      if (engine.state !== "lost" && engine.state !== "exited") return engine;
      await engine.exited;
      if (this.#available === available)
        throw this.#unavailable(what, "the engine exited and is not restarted");
    }
  }

  #unavailable(what: string, message: string, cause?: unknown): EngineJobError {
    const stderrTail = cause instanceof EngineStartError ? cause.stderrTail : [];
    return new EngineJobError({ kind: "crashed", jobId: what, message, stderrTail });
  }

  async #launch(): Promise<EngineProcess> {
    const maxAttempts = this.#options.maxStartAttempts ?? 5;
    for (let failures = 0; ; failures += 1) {
      const engine = new EngineProcess(this.#options);
      this.#engine = engine;
      try {
        const ready = await engine.start();
        this.#startedAt = Date.now();
        engine.once("exit", (exit) => this.#onExit(exit));
        this.emit("ready", ready);
        return engine;
      } catch (error) {
        await engine.exited;
        if (this.#stopping.signal.aborted) throw error;
        if (failures + 1 >= maxAttempts || !(error instanceof EngineStartError)) {
          if (error instanceof EngineStartError) this.emit("gave-up", error);
          throw error;
        }
        await this.#pause();
      }
    }
  }

  #onExit(exit: EngineExit): void {
    this.emit("exit", exit);
    if (this.#stopping.signal.aborted || exit.reason === "shutdown") return;
    const stableAfterMs = this.#options.stableAfterMs ?? 60_000;
    if (Date.now() - this.#startedAt >= stableAfterMs) this.#attempt = 0;
    this.#available = this.#pause().then(() => this.#launch());
    this.#available.catch(() => {});
  }

  async #pause(): Promise<void> {
    this.#attempt += 1;
    const delayMs = backoffDelay(this.#attempt, this.#options.restartBackoff);
    this.emit("restarting", { attempt: this.#attempt, delayMs });
    await sleep(delayMs, undefined, { signal: this.#stopping.signal });
  }
}
