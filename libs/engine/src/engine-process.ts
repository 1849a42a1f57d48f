import { EventEmitter } from "node:events";
import { createLogger, type Logger } from "@wgp-farm/config";
import { EngineChannel, type MalformedMessage } from "./engine-channel.js";
import { EngineChild } from "./engine-child.js";
import {
  EngineJobError,
  type EngineJobErrorKind,
  EngineRequestError,
  EngineStartError,
} from "./engine-errors.js";
import { EngineJob, generateCommand, jobRefusal, postprocessCommand } from "./engine-job.js";
import {
  bridgeSpawnSpec,
  type EngineLimits,
  type EngineProcessOptions,
  engineLimits,
} from "./engine-options.js";
import type {
  EngineExit,
  EngineExitReason,
  EngineProcessEvents,
  EngineState,
  GenerateRequest,
  JobHandlers,
  PostprocessRequest,
  ProcessExit,
} from "./engine-types.js";
import type {
  DescribedMessage,
  EngineCommand,
  EngineMessage,
  FatalMessage,
  ReadyMessage,
  ResultMessage,
} from "./protocol.js";
import { PROTOCOL_VERSION } from "./protocol.js";

type JobDetail = EngineJobError["detail"];

/**
 * One engine-py process: its state machine (`ready`, one job at a time, cancel, describe, hang and
 * death detection, clean shutdown) over an EngineChild (the OS process) and an EngineChannel (the
 * protocol). It does not restart itself; EngineSupervisor does.
 */
export class EngineProcess extends EventEmitter<EngineProcessEvents> {
  readonly #options: EngineProcessOptions;
  readonly #limits: EngineLimits;
  readonly #logger: Logger;
  #child: EngineChild | undefined;
  #channel: EngineChannel | undefined;
  #state: EngineState = "idle";
  #ready: ReadyMessage | undefined;
  #fatal: FatalMessage | undefined;
  #job: EngineJob | undefined;
  #startWaiter: PromiseWithResolvers<ReadyMessage> | undefined;
  #hung = false;
  readonly #exited = Promise.withResolvers<EngineExit>();

  constructor(options: EngineProcessOptions) {
    super();
    this.#options = options;
    this.#limits = engineLimits(options);
    this.#logger = options.logger ?? createLogger({ name: "engine" });
  }

  get state(): EngineState {
    return this.#state;
  }

  get readyInfo(): ReadyMessage | undefined {
    return this.#ready;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get currentJobId(): string | undefined {
    return this.#job?.id;
  }

  /** Resolves once the process has exited and its channel is closed. */
  get exited(): Promise<EngineExit> {
    return this.#exited.promise;
  }

  stderrTail(): string[] {
    return this.#child?.stderrTail() ?? [];
  }

  /** Resident memory of the engine process in MiB (undefined when it is not running). */
  residentMiB(): Promise<number | undefined> {
    return this.#child?.residentMiB() ?? Promise.resolve(undefined);
  }

  /** Spawns engine-py and resolves with its `ready`; rejects with EngineStartError. */
  start(): Promise<ReadyMessage> {
    if (this.#state !== "idle") return Promise.reject(new Error(`EngineProcess already ${this.#state}`));
    this.#state = "starting";
    const spec = bridgeSpawnSpec(this.#options, this.#logger);
    this.#logger.info({ python: spec.command, args: spec.args, gpu: this.#options.gpu }, "starting engine");
    const child = new EngineChild(spec);
    const { requestTimeoutMs, readyTimeoutMs } = this.#limits;
    const channel = new EngineChannel(child.stdout, child.stdin, { requestTimeoutMs });
    this.#child = child;
    this.#channel = channel;
    child.on("stderr", (line) => this.emit("stderr", line));
    child.on("broken", () => {
      this.#state = "lost";
      this.#warn("engine closed its protocol channel but kept running; killing it");
    });
    child.on("exit", (exit) => this.#finish(exit, this.#exitReason()));
    channel.on("message", (message) => this.#onMessage(message));
    channel.on("malformed", (malformed) => this.#endJobOnMalformedEnd(malformed));
    channel.on("warning", (message) => this.#warn(message));
    channel.on("close", () => child.channelClosed());
    this.#startWaiter = Promise.withResolvers<ReadyMessage>();
    const timer = setTimeout(() => {
      this.#rejectStart(`engine not ready after ${readyTimeoutMs} ms`);
      child.kill("SIGKILL");
    }, readyTimeoutMs);
    const ready = this.#startWaiter.promise;
    void Promise.allSettled([ready]).then(() => clearTimeout(timer));
    return ready;
  }

  /** Runs one job; resolves with its `result`, rejects with an EngineJobError. */
  generate(request: GenerateRequest, handlers: JobHandlers = {}): Promise<ResultMessage> {
    return this.#runJob(request.id, handlers, (maxLineBytes) => generateCommand(request, maxLineBytes));
  }

  /** Runs one late post-processing job (WanGP's edit call on an existing file); settles like `generate`. */
  postprocess(request: PostprocessRequest, handlers: JobHandlers = {}): Promise<ResultMessage> {
    return this.#runJob(request.id, handlers, (maxLineBytes) => postprocessCommand(request, maxLineBytes));
  }

  #runJob(
    id: string,
    handlers: JobHandlers,
    commandOf: (maxLineBytes: number) => EngineCommand | string,
  ): Promise<ResultMessage> {
    const refusal = jobRefusal(this.#state, this.#job?.id, handlers);
    if (refusal?.kind) return Promise.reject(this.#jobError(id, refusal.kind, refusal.message));
    if (refusal) return Promise.reject(new Error(refusal.message));
    const command = commandOf(this.#ready?.max_line_bytes ?? Number.POSITIVE_INFINITY);
    if (typeof command === "string") return Promise.reject(this.#jobError(id, "invalid", command));
    const job = new EngineJob(id, handlers, {
      hangTimeoutMs: this.#limits.hangTimeoutMs,
      onHung: (hung) => this.#onHung(hung),
      onAbort: () => this.cancel(),
    });
    this.#job = job;
    this.#state = "busy";
    this.#channel?.send(command);
    return job.result;
  }

  /** Asks the engine to stop the running job at its next step. Returns whether a job was running. */
  cancel(): boolean {
    if (!this.#job) return false;
    this.#channel?.send({ type: "cancel", id: this.#job.id });
    return true;
  }

  /** WanGP's defaults, LoRA folder and availability for a model type. */
  describe(modelType: string, timeoutMs?: number): Promise<DescribedMessage> {
    return this.#requests("describe").describe(modelType, timeoutMs);
  }

  /** Round trip through the engine's command loop, in milliseconds. */
  ping(timeoutMs?: number): Promise<number> {
    return this.#requests("ping").ping(timeoutMs);
  }

  /** `shutdown` (the engine cancels a running job), then SIGTERM, then SIGKILL. */
  async shutdown(): Promise<EngineExit> {
    if (this.#state === "idle") this.#finish({ code: null, signal: null }, "shutdown");
    else if (this.#state !== "exited") {
      this.#state = "stopping";
      this.#channel?.send({ type: "shutdown" });
      await this.#child?.stop(this.#limits.shutdownTimeoutMs, this.#limits.killTimeoutMs);
    }
    return this.#exited.promise;
  }

  /** Sends a signal to the engine process (SIGKILL by default); the exit is reported as a crash. */
  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    this.#child?.kill(signal);
  }

  /** The channel, for a request; a channel that is not there yet or any more answers with a refusal. */
  #requests(kind: string): Pick<EngineChannel, "describe" | "ping"> {
    if (this.#channel && this.#state !== "starting" && this.#state !== "exited") return this.#channel;
    const refusal = () =>
      Promise.reject(new EngineRequestError(`cannot ${kind}: the engine is ${this.#state}`));
    return { describe: refusal, ping: refusal };
  }

  /**
   * A malformed `result` or `error` for the running job still ends it: the engine is done with it.
   * Failing it now (kind `engine`, retryable) beats the hang timeout, which would kill a healthy engine
   * and count a hang against the task.
   */
  #endJobOnMalformedEnd({ type, id, problems }: MalformedMessage): void {
    const job = this.#job;
    if (!job || (type !== "result" && type !== "error") || id !== job.id) return;
    const message = `the engine ended the job with a malformed ${type} (${problems})`;
    this.#endJob(job.id, this.#jobError(job.id, "engine", message));
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
        if (this.#job?.id === message.id) this.#job.deliver(message, this.#logger);
        return;
      case "result":
        this.#endJob(message.id, message);
        return;
      case "error": {
        const error = this.#jobError(message.id, message.kind, message.message, message.detail);
        if (this.#job?.id === message.id && error.engineLost) this.#state = "lost";
        this.#endJob(message.id, error);
        return;
      }
    }
  }

  #onReady(message: ReadyMessage): void {
    if (message.protocol !== PROTOCOL_VERSION) {
      this.#rejectStart(`engine speaks protocol ${message.protocol}, this side ${PROTOCOL_VERSION}`);
      void this.shutdown();
      return;
    }
    this.#ready = message;
    this.#state = "ready";
    const { pid, adapter, wangp_version: wangp, gpu } = message;
    this.#logger.info({ pid, adapter, wangp, gpu }, "engine ready");
    this.#startWaiter?.resolve(message);
    this.#startWaiter = undefined;
    this.emit("ready", message);
  }

  #endJob(id: string, outcome: ResultMessage | EngineJobError): void {
    const job = this.#job;
    if (!job || job.id !== id) return;
    this.#job = undefined;
    if (this.#state === "busy") this.#state = "ready";
    job.settle(outcome);
  }

  #onHung(job: EngineJob): void {
    const limit = this.#limits.hangTimeoutMs;
    this.#hung = true;
    this.#state = "lost";
    this.#logger.error({ jobId: job.id, pid: this.pid, limit }, "engine hung; killing it");
    const message = `no progress for ${limit} ms; the engine was killed`;
    this.#endJob(job.id, this.#jobError(job.id, "hung", message));
    this.#child?.kill("SIGKILL");
  }

  #exitReason(): EngineExitReason {
    if (!this.#ready) return "start-failed";
    if (this.#hung) return "hung";
    if (this.#state === "stopping") return "shutdown";
    return this.#fatal ? "fatal" : "crashed";
  }

  #finish(processExit: ProcessExit, reason: EngineExitReason): void {
    if (this.#state === "exited") return;
    this.#state = "exited";
    const exit: EngineExit = { ...processExit, reason, fatal: this.#fatal, stderrTail: this.stderrTail() };
    const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
    this.#rejectStart(this.#fatal?.message ?? `engine exited (${how}) before ready`);
    if (this.#job) {
      const message = `engine exited (${how})${this.#fatal ? `: ${this.#fatal.message}` : ""}`;
      const detail = { exit_code: exit.code, signal: exit.signal };
      this.#endJob(this.#job.id, this.#jobError(this.#job.id, "crashed", message, detail));
    }
    this.#channel?.failRequests(`engine exited (${how})`);
    this.#logger[reason === "shutdown" ? "info" : "error"]({ ...processExit, reason }, "engine exited");
    this.emit("exit", exit);
    this.#exited.resolve(exit);
  }

  #rejectStart(message: string): void {
    this.#startWaiter?.reject(this.#startError(message));
    this.#startWaiter = undefined;
  }

  #warn(message: string): void {
    this.#logger.warn(message);
    this.emit("warning", message);
  }

  #jobError(jobId: string, kind: EngineJobErrorKind, message: string, detail: JobDetail = null) {
    return new EngineJobError({ kind, jobId, message, detail, stderrTail: this.stderrTail() });
  }

  #startError(message: string): EngineStartError {
    const { code: exitCode = null, signal = null } = this.#child?.processExit ?? {};
    const stderrTail = this.stderrTail();
    return new EngineStartError(message, { fatal: this.#fatal, exitCode, signal, stderrTail });
  }
}
