import type { Logger } from "@wgp-farm/config";
import type { z } from "zod";
import type { EngineJobError, EngineJobErrorKind } from "./engine-errors.js";
import type { EngineState, GenerateRequest, JobHandlers, PostprocessRequest } from "./engine-types.js";
import {
  type EngineCommand,
  GenerateCommandSchema,
  type LogMessage,
  PostprocessCommandSchema,
  type ProgressMessage,
  type ResultMessage,
  type StatusMessage,
} from "./protocol.js";

/**
 * Why an engine in `state` cannot take a job now, if it cannot: with the kind of job error to fail
 * it with, or without a kind when the caller asked before the engine was ready.
 */
export function jobRefusal(
  state: EngineState,
  runningJobId: string | undefined,
  handlers: JobHandlers,
): { kind?: EngineJobErrorKind; message: string } | undefined {
  if (state === "busy")
    return { kind: "busy", message: `job ${runningJobId} is still running; one job at a time` };
  if (state === "exited" || state === "lost") {
    return { kind: "crashed", message: "the engine process is gone or going away" };
  }
  if (state !== "ready") return { message: `EngineProcess is ${state}, not ready` };
  if (handlers.signal?.aborted) return { kind: "cancelled", message: "cancelled before it started" };
  return undefined;
}

/** The `generate` command for a request, or why it cannot be sent (the engine reads lines of at most `maxLineBytes`). */
export function generateCommand(request: GenerateRequest, maxLineBytes: number): EngineCommand | string {
  const command = {
    type: "generate",
    id: request.id,
    settings: request.settings,
    output_dir: request.outputDir,
    output_name: request.outputName,
  };
  return checkedCommand(GenerateCommandSchema, command, maxLineBytes);
}

/** The `postprocess` command for a request, or why it cannot be sent. */
export function postprocessCommand(
  request: PostprocessRequest,
  maxLineBytes: number,
): EngineCommand | string {
  const { id, call, source, outputDir, params } = request;
  const command = { type: "postprocess", id, call, source, output_dir: outputDir, params };
  return checkedCommand(PostprocessCommandSchema, command, maxLineBytes);
}

function checkedCommand(
  schema: z.ZodType<EngineCommand>,
  command: { type: string },
  maxLineBytes: number,
): EngineCommand | string {
  const parsed = schema.safeParse(command);
  if (!parsed.success) return `bad ${command.type} request: ${parsed.error.message}`;
  const size = Buffer.byteLength(JSON.stringify(parsed.data));
  if (size > maxLineBytes)
    return `the ${command.type} command is ${size} bytes; the engine accepts at most ${maxLineBytes}`;
  return parsed.data;
}

export interface EngineJobTimers {
  /** A job with no progress or status message for this long is hung. */
  hangTimeoutMs: number;
  onHung(job: EngineJob): void;
  /** The job's signal aborted: the owner sends `cancel`. */
  onAbort(): void;
}

/**
 * The job an engine is running: its handlers, its hang timer (re-armed by every progress or status
 * message) and its abort listener, and the promise its caller waits on. Settles once.
 */
export class EngineJob {
  readonly id: string;
  readonly #handlers: JobHandlers;
  readonly #timers: EngineJobTimers;
  readonly #outcome = Promise.withResolvers<ResultMessage>();
  #hangTimer: NodeJS.Timeout | undefined;
  #settled = false;

  constructor(id: string, handlers: JobHandlers, timers: EngineJobTimers) {
    this.id = id;
    this.#handlers = handlers;
    this.#timers = timers;
    handlers.signal?.addEventListener("abort", timers.onAbort, { once: true });
    this.#armHangTimer();
  }

  get result(): Promise<ResultMessage> {
    return this.#outcome.promise;
  }

  /** Hands a progress, status or log message to the job's handlers; a handler that throws is logged. */
  deliver(message: ProgressMessage | StatusMessage | LogMessage, logger: Logger): void {
    if (message.type !== "log") this.#armHangTimer();
    try {
      if (message.type === "progress") this.#handlers.onProgress?.(message);
      else if (message.type === "status") this.#handlers.onStatus?.(message);
      else this.#handlers.onLog?.(message);
    } catch (error) {
      logger.warn({ err: error, jobId: this.id }, "a job handler threw; ignored");
    }
  }

  settle(outcome: ResultMessage | EngineJobError): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#hangTimer);
    this.#handlers.signal?.removeEventListener("abort", this.#timers.onAbort);
    if (outcome instanceof Error) this.#outcome.reject(outcome);
    else this.#outcome.resolve(outcome);
  }

  #armHangTimer(): void {
    clearTimeout(this.#hangTimer);
    this.#hangTimer = setTimeout(() => this.#timers.onHung(this), this.#timers.hangTimeoutMs);
  }
}
