import { EventEmitter } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { createLogger, type Logger } from "@wgp-farm/config";
import { type BackoffOptions, backoffDelay } from "./backoff.js";
import { EngineJobError, EngineStartError } from "./engine-errors.js";
import type { EngineProcessOptions } from "./engine-options.js";
import { EngineProcess } from "./engine-process.js";
import type { EngineExit, GenerateRequest, JobHandlers, PostprocessRequest } from "./engine-types.js";
import type { DescribedMessage, ReadyMessage, ResultMessage } from "./protocol.js";

/** When a healthy engine is replaced by a fresh one (WanGP's memory creeps up over many jobs). */
export interface RecycleOptions {
  /** After this many jobs with a result (0 or absent: never). */
  afterJobs?: number;
  /** When the process's resident memory is above this many MiB after a job (0 or absent: never). */
  aboveRssMiB?: number;
}

export interface EngineSupervisorOptions extends EngineProcessOptions {
  restartBackoff?: BackoffOptions;
  /** An engine that stayed up this long before dying restarts without backoff growth. */
  stableAfterMs?: number;
  /** Consecutive failed starts after which the supervisor gives up. */
  maxStartAttempts?: number;
  recycle?: RecycleOptions;
}

/** `restarting`: after a crash, hang or poisoned context; `recycling`: replacing a healthy engine. */
export type SupervisorState =
  | "idle"
  | "starting"
  | "ready"
  | "restarting"
  | "recycling"
  | "gave-up"
  | "stopped";

export interface EngineSupervisorEvents {
  ready: [ReadyMessage];
  exit: [EngineExit];
  restarting: [{ attempt: number; delayMs: number }];
  recycling: [{ reason: string }];
  "gave-up": [EngineStartError];
}

/** There is no engine and none is coming: not started, or shut down. */
class NoEngine extends Error {}

/** Settles like `work`, or rejects with the signal's reason once it aborts. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason);
  const aborted = Promise.withResolvers<never>();
  const onAbort = () => aborted.reject(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  return Promise.race([work, aborted.promise]).finally(() => signal.removeEventListener("abort", onAbort));
}

/**
 * The one owner of a GPU slot's engine for the slot's whole life: starts it, starts a new one with
 * exponential backoff after it dies (crash, hang, poisoned CUDA context), replaces it when it is due
 * for recycling, and gives up after repeated failed starts. Jobs submitted meanwhile wait for the
 * new engine.
 */
export class EngineSupervisor extends EventEmitter<EngineSupervisorEvents> {
  readonly #options: EngineSupervisorOptions;
  readonly #logger: Logger;
  #engine: EngineProcess | undefined;
  #readyInfo: ReadyMessage | undefined;
  #available: Promise<EngineProcess> | undefined;
  #state: SupervisorState = "idle";
  #attempt = 0;
  #startedAt = 0;
  #jobsSinceStart = 0;
  readonly #stopping = new AbortController();

  constructor(options: EngineSupervisorOptions) {
    super();
    this.#options = options;
    this.#logger = options.logger ?? createLogger({ name: "engine" });
  }

  get state(): SupervisorState {
    return this.#state;
  }

  /** The current engine process (undefined before the first start). */
  get engine(): EngineProcess | undefined {
    return this.#engine;
  }

  /** The `ready` of the current engine (of the last one while a new one starts). */
  get readyInfo(): ReadyMessage | undefined {
    return this.#readyInfo;
  }

  /** Jobs with a result since the current engine started. */
  get jobsSinceStart(): number {
    return this.#jobsSinceStart;
  }

  /** Starts the first engine; rejects with EngineStartError after maxStartAttempts failures. */
  async start(): Promise<ReadyMessage> {
    this.#state = "starting";
    return this.#readyOf(this.#launching(this.#launch()));
  }

  /**
   * Resolves once an engine is ready to take a job (at once when one is), waiting through a restart
   * or a recycle. Rejects with EngineStartError once the supervisor gave up, with an Error once it
   * is shut down, and with the signal's reason when `signal` aborts first.
   */
  whenReady(signal?: AbortSignal): Promise<ReadyMessage> {
    return untilAborted(this.#readyOf(this.#current()), signal);
  }

  /** Runs a job on the current engine, waiting for a restart in progress. */
  generate(request: GenerateRequest, handlers?: JobHandlers): Promise<ResultMessage> {
    return this.#runJob(request.id, (engine) => engine.generate(request, handlers));
  }

  /** Runs a late post-processing job on the current engine, like `generate`. */
  postprocess(request: PostprocessRequest, handlers?: JobHandlers): Promise<ResultMessage> {
    return this.#runJob(request.id, (engine) => engine.postprocess(request, handlers));
  }

  async #runJob(id: string, run: (engine: EngineProcess) => Promise<ResultMessage>): Promise<ResultMessage> {
    const engine = await this.#whenAvailable(id);
    try {
      const result = await run(engine);
      this.#served();
      this.#jobsSinceStart += 1;
      return result;
    } catch (error) {
      if (error instanceof EngineJobError && !error.engineLost && error.kind !== "busy") this.#served();
      throw error;
    }
  }

  async describe(modelType: string, timeoutMs?: number): Promise<DescribedMessage> {
    const engine = await this.#whenAvailable(`describe ${modelType}`);
    return engine.describe(modelType, timeoutMs);
  }

  cancel(): boolean {
    return this.#engine?.cancel() ?? false;
  }

  /**
   * Shuts the current engine down and starts a fresh one; jobs submitted meanwhile wait for it. While
   * a start, restart or recycle is under way it only waits for that one: a fresh engine is coming.
   */
  async recycle(reason: string): Promise<ReadyMessage> {
    if (this.#state !== "ready") return this.whenReady();
    this.#state = "recycling";
    this.emit("recycling", { reason });
    const previous = this.#engine;
    return this.#readyOf(
      this.#launching(
        (async () => {
          await previous?.shutdown();
          this.#attempt = 0;
          return this.#launch();
        })(),
      ),
    );
  }

  /** Recycles the engine when `recycle` says it is due (call it between jobs). Returns whether it did. */
  async recycleIfDue(): Promise<boolean> {
    const { afterJobs = 0, aboveRssMiB = 0 } = this.#options.recycle ?? {};
    const engine = this.#engine;
    if (this.#state !== "ready" || !engine) return false;
    const jobs = this.#jobsSinceStart;
    const byJobs = afterJobs > 0 && jobs >= afterJobs;
    const rss = aboveRssMiB > 0 ? await engine.residentMiB() : undefined;
    const byMemory = rss !== undefined && rss > aboveRssMiB;
    if (!byJobs && !byMemory) return false;
    const reason = byJobs ? "job count" : "memory";
    this.#logger.info({ jobs, rss_mib: rss && Math.round(rss) }, `recycling the engine (${reason})`);
    await this.recycle(reason);
    return true;
  }

  /** Stops restarting and shuts the current engine down. */
  async shutdown(): Promise<EngineExit | undefined> {
    this.#stopping.abort();
    this.#state = "stopped";
    return this.#engine?.shutdown();
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

  async #readyOf(engine: Promise<EngineProcess>): Promise<ReadyMessage> {
    return (await engine).readyInfo as ReadyMessage;
  }

  #launching(launch: Promise<EngineProcess>): Promise<EngineProcess> {
    this.#available = launch;
    // Whoever waits for an engine sees a failed launch; with nobody waiting it must not go unhandled.
    launch.catch(() => {});
    return launch;
  }

  /** The engine to use now: waits for a start, restart or recycle in progress, and skips an engine
   * that is going away (its exit starts the restart this then waits for). */
  async #current(): Promise<EngineProcess> {
    for (;;) {
      const available = this.#available;
      if (!available) throw new NoEngine("EngineSupervisor not started");
      const engine = await available;
      if (engine.state !== "lost" && engine.state !== "exited") return engine;
      await engine.exited;
      if (this.#available === available) throw new NoEngine("the engine exited and is not restarted");
    }
  }

  async #whenAvailable(what: string): Promise<EngineProcess> {
    try {
      return await this.#current();
    } catch (error) {
      const message =
        error instanceof NoEngine ? error.message : `no engine available: ${(error as Error).message}`;
      const stderrTail = error instanceof EngineStartError ? error.stderrTail : [];
      throw new EngineJobError({ kind: "crashed", jobId: what, message, stderrTail });
    }
  }

  async #launch(): Promise<EngineProcess> {
    const maxAttempts = this.#options.maxStartAttempts ?? 5;
    for (let failures = 0; ; failures += 1) {
      if (this.#stopping.signal.aborted) throw new NoEngine("the engine supervisor is shut down");
      const engine = new EngineProcess(this.#options);
      this.#engine = engine;
      try {
        const ready = await engine.start();
        this.#readyInfo = ready;
        this.#startedAt = Date.now();
        this.#jobsSinceStart = 0;
        this.#state = "ready";
        engine.once("exit", (exit) => this.#onExit(exit));
        this.emit("ready", ready);
        return engine;
      } catch (error) {
        await engine.exited;
        if (this.#stopping.signal.aborted) throw error;
        if (failures + 1 >= maxAttempts || !(error instanceof EngineStartError)) {
          this.#state = "gave-up";
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
    this.#state = "restarting";
    const stableAfterMs = this.#options.stableAfterMs ?? 60_000;
    if (Date.now() - this.#startedAt >= stableAfterMs) this.#attempt = 0;
    this.#launching(this.#pause().then(() => this.#launch()));
  }

  async #pause(): Promise<void> {
    this.#attempt += 1;
    const delayMs = backoffDelay(this.#attempt, this.#options.restartBackoff);
    this.emit("restarting", { attempt: this.#attempt, delayMs });
    await sleep(delayMs, undefined, { signal: this.#stopping.signal });
  }
}
