import { EventEmitter } from "node:events";
import { createLogger, type Logger } from "@wgp-farm/config";
import { execa, type ResultPromise } from "execa";
import { EngineJobError, EngineRequestError, EngineStartError } from "./engine-errors.js";
import {
  bridgeArgs,
  bridgeEnv,
  defaultPython,
  ENGINE_DEFAULTS,
  type EngineProcessOptions,
} from "./engine-options.js";
import { LineRing } from "./line-ring.js";
import { splitLines } from "./line-splitter.js";
import {
  type DescribedMessage,
  type EngineCommand,
  type EngineMessage,
  EngineMessageSchema,
  type FatalMessage,
  GenerateCommandSchema,
  type LogMessage,
  PROTOCOL_VERSION,
  type ProgressMessage,
  type ReadyMessage,
  type ResultMessage,
  type StatusMessage,
} from "./protocol.js";

/** `lost`: the process is going away on its own (hung and killed, poisoned CUDA context, broken
 * channel); it takes no more jobs and its `exit` follows. */
export type EngineState = "idle" | "starting" | "ready" | "busy" | "lost" | "stopping" | "exited";

export interface GenerateRequest {
  /** Job id (the task id); every message of the job carries it. */
  id: string;
  /** WanGP settings; the engine pins seed, prompt mode, enhancer and output name (PROTOCOL.md). */
  settings: Record<string, unknown>;
  /** Absolute staging folder the job's files are moved into. */
  outputDir: string;
  /** File stem of the main output, e.g. "output" gives output.mp4. */
  outputName: string;
}

export interface JobHandlers {
  onProgress?(message: ProgressMessage): void;
  onStatus?(message: StatusMessage): void;
  onLog?(message: LogMessage): void;
  /** Aborting sends `cancel`: the job then ends with an EngineJobError of kind `cancelled`. */
  signal?: AbortSignal;
}

export type EngineExitReason = "shutdown" | "fatal" | "crashed" | "hung" | "start-failed";

export interface EngineExit {
  code: number | null;
  signal: string | null;
  reason: EngineExitReason;
  /** The engine's `fatal` message, when it sent one before exiting. */
  fatal: FatalMessage | undefined;
  stderrTail: string[];
}

export interface EngineProcessEvents {
  ready: [ReadyMessage];
  exit: [EngineExit];
  stderr: [line: string];
  fatal: [FatalMessage];
  /** Something on the channel that is not a valid message, or a protocol_error reply. */
  warning: [message: string];
}

interface ActiveJob {
  id: string;
  handlers: JobHandlers;
  resolve(result: ResultMessage): void;
  reject(error: EngineJobError): void;
  hangTimer: NodeJS.Timeout | undefined;
  onAbort: (() => void) | undefined;
}

interface PendingRequest {
  resolve(message: EngineMessage): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** Longest protocol message read; a longer line is skipped with a warning (a result echoes ≤ 1 MiB of settings). */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Longest stderr line kept; the rest of it is dropped (WanGP's or a library's output can be anything). */
const MAX_STDERR_LINE_BYTES = 64 * 1024;

/** How long to wait for the other half of "process exited" + "channel closed" before forcing it. */
const CHANNEL_GRACE_MS = 2_000;

/**
 * One engine-py process: spawn, `ready`, one job at a time, cancel, describe, hang and death
 * detection, clean shutdown. It does not restart itself; EngineSupervisor does.
 */
export class EngineProcess extends EventEmitter<EngineProcessEvents> {
  readonly #options: EngineProcessOptions;
  readonly #logger: Logger;
  readonly #stderr: LineRing;
  #subprocess: ResultPromise | undefined;
  #state: EngineState = "idle";
  #ready: ReadyMessage | undefined;
  #fatal: FatalMessage | undefined;
  #job: ActiveJob | undefined;
  readonly #requests = new Map<string, PendingRequest>();
  #requestCounter = 0;
  #startWaiter: { resolve(ready: ReadyMessage): void; reject(error: Error): void } | undefined;
  #processExit: { code: number | null; signal: string | null } | undefined;
  #channelClosed = false;
  #hung = false;
  #exit: EngineExit | undefined;
  readonly #exited: Promise<EngineExit>;
  #resolveExited!: (exit: EngineExit) => void;

  constructor(options: EngineProcessOptions) {
    super();
    this.#options = options;
    this.#logger = options.logger ?? createLogger({ name: "engine" });
    this.#stderr = new LineRing(options.stderrLines ?? ENGINE_DEFAULTS.stderrLines);
    this.#exited = new Promise((resolve) => {
      this.#resolveExited = resolve;
    });
  }

  get state(): EngineState {
    return this.#state;
  }

  get readyInfo(): ReadyMessage | undefined {
    return this.#ready;
  }

  get pid(): number | undefined {
    return this.#subprocess?.pid;
  }

  get currentJobId(): string | undefined {
    return this.#job?.id;
  }

  /** Resolves once the process has exited and its channel is closed. */
  get exited(): Promise<EngineExit> {
    return this.#exited;
  }

  stderrTail(): string[] {
    return this.#stderr.lines();
  }

  /** Spawns engine-py and resolves with its `ready`; rejects with EngineStartError. */
  start(): Promise<ReadyMessage> {
    if (this.#state !== "idle") return Promise.reject(new Error(`EngineProcess already ${this.#state}`));
    this.#state = "starting";
    const python = this.#options.python ?? defaultPython();
    const args = bridgeArgs(this.#options);
    this.#logger.info({ python, args, gpu: this.#options.gpu }, "starting engine");
    const subprocess = execa(python, args, {
      cwd: this.#options.cwd,
      env: bridgeEnv(this.#options),
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      buffer: false,
      reject: false,
    });
    this.#subprocess = subprocess;
    subprocess.catch(() => {});
    const child = subprocess.nodeChildProcess;
    child.on("exit", (code, signal) => this.#onProcessExit(code, signal));
    child.on("error", (error) => {
      this.#stderr.push(`spawn error: ${error.message}`);
      if (subprocess.pid === undefined) this.#onProcessExit(null, null);
    });
    subprocess.stdin.on("error", (error) => this.#logger.warn({ err: error }, "engine stdin error"));
    splitLines(
      subprocess.stdout,
      MAX_MESSAGE_BYTES,
      ({ text, cutBytes }) => {
        if (cutBytes === 0) this.#onLine(text);
        else
          this.#warn(
            `engine wrote a line of ${MAX_MESSAGE_BYTES + cutBytes} bytes; skipped: ${text.slice(0, 200)}`,
          );
      },
      () => this.#onChannelClosed(),
    );
    splitLines(subprocess.stderr, MAX_STDERR_LINE_BYTES, ({ text, cutBytes }) => {
      const line = cutBytes > 0 ? `${text}… (${cutBytes} more bytes)` : text;
      this.#stderr.push(line);
      this.emit("stderr", line);
    });
    return new Promise<ReadyMessage>((resolve, reject) => {
      const timeoutMs = this.#options.readyTimeoutMs ?? ENGINE_DEFAULTS.readyTimeoutMs;
      const timer = setTimeout(() => {
        this.#startWaiter = undefined;
        this.#kill("SIGKILL");
        reject(this.#startError(`engine not ready after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#startWaiter = {
        resolve: (ready) => {
          clearTimeout(timer);
          resolve(ready);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  /** Runs one job; resolves with its `result`, rejects with an EngineJobError. */
  generate(request: GenerateRequest, handlers: JobHandlers = {}): Promise<ResultMessage> {
    const refusal = this.#refuseJob(request, handlers);
    if (refusal) return Promise.reject(refusal);
    const command = GenerateCommandSchema.safeParse({
      type: "generate",
      id: request.id,
      settings: request.settings,
      output_dir: request.outputDir,
      output_name: request.outputName,
    });
    if (!command.success) {
      return Promise.reject(
        this.#jobError(request.id, "invalid", `bad generate request: ${command.error.message}`),
      );
    }
    const tooLong = this.#lineTooLong(command.data);
    if (tooLong) return Promise.reject(this.#jobError(request.id, "invalid", tooLong));
    return new Promise<ResultMessage>((resolve, reject) => {
      const job: ActiveJob = {
        id: request.id,
        handlers,
        resolve,
        reject,
        hangTimer: undefined,
        onAbort: undefined,
      };
      this.#job = job;
      this.#state = "busy";
      if (handlers.signal) {
        job.onAbort = () => this.cancel();
        handlers.signal.addEventListener("abort", job.onAbort, { once: true });
      }
      this.#armHangTimer(job);
      this.#send(command.data);
    });
  }

  /** Asks the engine to stop the running job at its next step. Returns whether a job was running. */
  cancel(): boolean {
    if (!this.#job) return false;
    this.#send({ type: "cancel", id: this.#job.id });
    return true;
  }

  /** WanGP's defaults, LoRA folder and availability for a model type. */
  async describe(modelType: string, timeoutMs?: number): Promise<DescribedMessage> {
    const message = await this.#request(
      "describe",
      (id) => ({ type: "describe", id, model_type: modelType }),
      timeoutMs,
    );
    if (message.type !== "described") throw new EngineRequestError(`unexpected reply ${message.type}`);
    return message;
  }

  /** Round trip through the engine's command loop, in milliseconds. */
  async ping(timeoutMs?: number): Promise<number> {
    const started = performance.now();
    await this.#request("ping", (id) => ({ type: "ping", id }), timeoutMs);
    return performance.now() - started;
  }

  /** `shutdown` (the engine cancels a running job), then SIGTERM, then SIGKILL. */
  async shutdown(): Promise<EngineExit> {
    if (this.#state === "idle") {
      this.#finish({ code: null, signal: null }, "shutdown");
      return this.#exited;
    }
    if (this.#state !== "exited") {
      this.#state = "stopping";
      this.#send({ type: "shutdown" });
      const shutdownMs = this.#options.shutdownTimeoutMs ?? ENGINE_DEFAULTS.shutdownTimeoutMs;
      if (!(await this.#exitedWithin(shutdownMs))) {
        this.#logger.warn({ pid: this.pid }, "engine ignored shutdown; sending SIGTERM");
        this.#kill("SIGTERM");
        if (!(await this.#exitedWithin(this.#options.killTimeoutMs ?? ENGINE_DEFAULTS.killTimeoutMs))) {
          this.#kill("SIGKILL");
        }
      }
    }
    return this.#exited;
  }

  /** Sends a signal to the engine process (SIGKILL by default); the exit is reported as a crash. */
  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    this.#kill(signal);
  }

  #refuseJob(request: GenerateRequest, handlers: JobHandlers): EngineJobError | Error | undefined {
    if (this.#state === "busy") {
      return this.#jobError(request.id, "busy", `job ${this.#job?.id} is still running; one job at a time`);
    }
    if (this.#state === "exited" || this.#state === "lost") {
      return this.#jobError(request.id, "crashed", "the engine process is gone or going away");
    }
    if (this.#state !== "ready") return new Error(`EngineProcess is ${this.#state}, not ready`);
    if (handlers.signal?.aborted)
      return this.#jobError(request.id, "cancelled", "cancelled before it started");
    return undefined;
  }

  #lineTooLong(command: EngineCommand): string | undefined {
    const limit = this.#ready?.max_line_bytes ?? Number.POSITIVE_INFINITY;
    const size = Buffer.byteLength(JSON.stringify(command));
    return size > limit
      ? `the generate command is ${size} bytes; the engine accepts at most ${limit}`
      : undefined;
  }

  #request(kind: string, build: (id: string) => EngineCommand, timeoutMs?: number): Promise<EngineMessage> {
    if (this.#state === "idle" || this.#state === "starting" || this.#state === "exited") {
      return Promise.reject(new EngineRequestError(`cannot ${kind}: the engine is ${this.#state}`));
    }
    this.#requestCounter += 1;
    const id = `${kind}-${this.#requestCounter}`;
    return new Promise((resolve, reject) => {
      const limit = timeoutMs ?? this.#options.requestTimeoutMs ?? ENGINE_DEFAULTS.requestTimeoutMs;
      const timer = setTimeout(() => {
        this.#requests.delete(id);
        reject(new EngineRequestError(`${kind} got no answer within ${limit} ms`));
      }, limit);
      this.#requests.set(id, { resolve, reject, timer });
      this.#send(build(id));
    });
  }

  #send(command: EngineCommand): void {
    const stdin = this.#subprocess?.stdin;
    if (!stdin || stdin.destroyed || !stdin.writable) return;
    stdin.write(`${JSON.stringify(command)}\n`);
  }

  #onLine(line: string): void {
    let data: unknown;
    try {
      data = JSON.parse(line);
    } catch {
      this.#warn(`engine wrote a non-JSON line: ${line.slice(0, 200)}`);
      return;
    }
    const parsed = EngineMessageSchema.safeParse(data);
    if (!parsed.success) {
      this.#warn(`engine wrote an invalid message: ${line.slice(0, 200)}`);
      this.#endJobOnMalformedEnd(data, parsed.error.issues);
      return;
    }
    this.#onMessage(parsed.data);
  }

  /**
   * A `result` or `error` for the running job that does not match the protocol still ends the job:
   * the engine is done with it and waits for the next command. Failing it now (kind `engine`, a
   * retryable failure) beats waiting for the hang timeout, which would kill a healthy engine and count
   * a hang against the task.
   */
  #endJobOnMalformedEnd(data: unknown, issues: readonly { path: PropertyKey[]; message: string }[]): void {
    const job = this.#job;
    if (!job || typeof data !== "object" || data === null) return;
    const { type, id } = data as { type?: unknown; id?: unknown };
    if ((type !== "result" && type !== "error") || id !== job.id) return;
    const problems = issues
      .slice(0, 5)
      .map((issue) => `${issue.path.map(String).join(".") || "(message)"}: ${issue.message}`)
      .join("; ");
    this.#settleJob(job.id, (ended) =>
      ended.reject(
        this.#jobError(ended.id, "engine", `the engine ended the job with a malformed ${type} (${problems})`),
      ),
    );
  }

  #onMessage(message: EngineMessage): void {
    switch (message.type) {
      case "ready":
        this.#onReady(message);
        return;
      case "fatal":
        this.#fatal = message;
        this.#logger.error({ fatal: message }, "engine fatal");
        this.emit("fatal", message);
        return;
      case "progress":
      case "status":
      case "log":
        this.#onJobEvent(message);
        return;
      case "result":
        this.#settleJob(message.id, (job) => job.resolve(message));
        return;
      case "error":
        if (this.#settleRequest(message.id, new EngineRequestError(message.message))) return;
        this.#settleJob(message.id, (job) => {
          const error = this.#jobError(job.id, message.kind, message.message, message.detail);
          if (error.engineLost) this.#state = "lost";
          job.reject(error);
        });
        return;
      case "described":
      case "pong":
        this.#settleRequest(message.id, message);
        return;
      case "protocol_error":
        this.#warn(`engine refused a command: ${message.message}`);
        if (message.id) this.#settleRequest(message.id, new EngineRequestError(message.message));
        return;
    }
  }

  #onReady(message: ReadyMessage): void {
    if (message.protocol !== PROTOCOL_VERSION) {
      this.#startWaiter?.reject(
        this.#startError(`engine speaks protocol ${message.protocol}, this side ${PROTOCOL_VERSION}`),
      );
      this.#startWaiter = undefined;
      void this.shutdown();
      return;
    }
    this.#ready = message;
    this.#state = "ready";
    this.#logger.info(
      { pid: message.pid, adapter: message.adapter, wangp: message.wangp_version, gpu: message.gpu },
      "engine ready",
    );
    this.#startWaiter?.resolve(message);
    this.#startWaiter = undefined;
    this.emit("ready", message);
  }

  #onJobEvent(message: ProgressMessage | StatusMessage | LogMessage): void {
    const job = this.#job;
    if (!job || message.id !== job.id) return;
    if (message.type !== "log") this.#armHangTimer(job);
    try {
      if (message.type === "progress") job.handlers.onProgress?.(message);
      else if (message.type === "status") job.handlers.onStatus?.(message);
      else job.handlers.onLog?.(message);
    } catch (error) {
      this.#logger.warn({ err: error, jobId: job.id }, "a job handler threw; ignored");
    }
  }

  #settleJob(id: string, settle: (job: ActiveJob) => void): void {
    const job = this.#job;
    if (!job || job.id !== id) return;
    clearTimeout(job.hangTimer);
    if (job.onAbort) job.handlers.signal?.removeEventListener("abort", job.onAbort);
    this.#job = undefined;
    if (this.#state === "busy") this.#state = "ready";
    settle(job);
  }

  #settleRequest(id: string, outcome: EngineMessage | Error): boolean {
    const pending = this.#requests.get(id);
    if (!pending) return false;
    this.#requests.delete(id);
    clearTimeout(pending.timer);
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
    return true;
  }

  #armHangTimer(job: ActiveJob): void {
    clearTimeout(job.hangTimer);
    const limit = this.#options.hangTimeoutMs ?? ENGINE_DEFAULTS.hangTimeoutMs;
    job.hangTimer = setTimeout(() => {
      this.#hung = true;
      this.#state = "lost";
      this.#logger.error({ jobId: job.id, pid: this.pid, limit }, "engine hung; killing it");
      this.#settleJob(job.id, (hungJob) =>
        hungJob.reject(
          this.#jobError(hungJob.id, "hung", `no progress for ${limit} ms; the engine was killed`),
        ),
      );
      this.#kill("SIGKILL");
    }, limit);
  }

  #onProcessExit(code: number | null, signal: string | null): void {
    this.#processExit ??= { code, signal };
    if (this.#channelClosed) this.#finishFromExit();
    else setTimeout(() => this.#finishFromExit(), CHANNEL_GRACE_MS).unref();
  }

  #onChannelClosed(): void {
    this.#channelClosed = true;
    if (this.#processExit) {
      this.#finishFromExit();
      return;
    }
    // The channel broke while the process lives on: it can no longer be driven.
    setTimeout(() => {
      if (!this.#processExit) {
        this.#state = "lost";
        this.#warn("engine closed its protocol channel but kept running; killing it");
        this.#kill("SIGKILL");
      }
    }, CHANNEL_GRACE_MS).unref();
  }

  #finishFromExit(): void {
    const exit = this.#processExit ?? { code: null, signal: null };
    this.#finish(exit, this.#exitReason());
  }

  #exitReason(): EngineExitReason {
    if (!this.#ready) return "start-failed";
    if (this.#hung) return "hung";
    if (this.#state === "stopping") return "shutdown";
    return this.#fatal ? "fatal" : "crashed";
  }

  #finish(processExit: { code: number | null; signal: string | null }, reason: EngineExitReason): void {
    if (this.#exit) return;
    this.#state = "exited";
    const exit: EngineExit = { ...processExit, reason, fatal: this.#fatal, stderrTail: this.stderrTail() };
    this.#exit = exit;
    const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
    this.#startWaiter?.reject(
      this.#startError(this.#fatal?.message ?? `engine exited (${how}) before ready`),
    );
    this.#startWaiter = undefined;
    const job = this.#job;
    if (job) {
      const message = this.#fatal
        ? `engine exited (${how}): ${this.#fatal.message}`
        : `engine exited (${how})`;
      this.#settleJob(job.id, (lost) =>
        lost.reject(
          this.#jobError(lost.id, "crashed", message, { exit_code: exit.code, signal: exit.signal }),
        ),
      );
    }
    for (const [id, pending] of this.#requests) {
      this.#requests.delete(id);
      clearTimeout(pending.timer);
      pending.reject(new EngineRequestError(`engine exited (${how})`));
    }
    const level = reason === "shutdown" ? "info" : "error";
    this.#logger[level]({ code: exit.code, signal: exit.signal, reason }, "engine exited");
    this.emit("exit", exit);
    this.#resolveExited(exit);
  }

  async #exitedWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const result = await Promise.race([this.#exited.then(() => true as const), timeout]);
    clearTimeout(timer);
    return result;
  }

  #kill(signal: NodeJS.Signals): void {
    const subprocess = this.#subprocess;
    if (subprocess && !this.#processExit) subprocess.kill(signal);
  }

  #warn(message: string): void {
    this.#logger.warn(message);
    this.emit("warning", message);
  }

  #jobError(
    jobId: string,
    kind: EngineJobError["kind"],
    message: string,
    detail?: Record<string, unknown> | null,
  ): EngineJobError {
    return new EngineJobError({
      kind,
      jobId,
      message,
      detail: detail ?? null,
      stderrTail: this.stderrTail(),
    });
  }

  #startError(message: string): EngineStartError {
    return new EngineStartError(message, {
      fatal: this.#fatal,
      exitCode: this.#processExit?.code ?? null,
      signal: this.#processExit?.signal ?? null,
      stderrTail: this.stderrTail(),
    });
  }
}
