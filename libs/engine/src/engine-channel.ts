import { EventEmitter } from "node:events";
import type { Readable, Writable } from "node:stream";
import { EngineRequestError } from "./engine-errors.js";
import { splitLines } from "./line-splitter.js";
import {
  type DescribedMessage,
  type EngineCommand,
  type EngineMessage,
  EngineMessageSchema,
} from "./protocol.js";

/** Longest protocol message read; a longer line is skipped with a warning (a result echoes ≤ 1 MiB of settings). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Valid JSON that does not match the protocol: its `type` and `id` if it has them, and what is wrong. */
export interface MalformedMessage {
  type: unknown;
  id: unknown;
  /** The first few problems, `path: message; …`. */
  problems: string;
}

export interface EngineChannelEvents {
  /** A valid message that is not the answer to one of this channel's requests. */
  message: [EngineMessage];
  malformed: [MalformedMessage];
  /** A line that could not be read, or a command the engine refused. */
  warning: [message: string];
  /** The engine's end is closed: nothing more will be read. Comes after the last message. */
  close: [];
}

export interface EngineChannelOptions {
  /** Longest line read (default MAX_MESSAGE_BYTES). */
  maxMessageBytes?: number;
  /** How long a request waits for its answer unless told otherwise (default 60 s). */
  requestTimeoutMs?: number;
}

interface PendingRequest {
  resolve(message: EngineMessage): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * The JSON-lines protocol over two streams (the engine's stdout in, its stdin out): splits and
 * bounds lines, parses them with the protocol's schemas, and pairs requests (describe, ping) with
 * their answers. It knows nothing of processes or jobs.
 */
export class EngineChannel extends EventEmitter<EngineChannelEvents> {
  readonly #output: Writable;
  readonly #requestTimeoutMs: number;
  readonly #requests = new Map<string, PendingRequest>();
  #requestCounter = 0;

  constructor(input: Readable, output: Writable, options: EngineChannelOptions = {}) {
    super();
    this.#output = output;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
    const maxMessageBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    splitLines(
      input,
      maxMessageBytes,
      ({ text, cutBytes }) => {
        if (cutBytes === 0) this.#onLine(text);
        else
          this.#warn(
            `engine wrote a line of ${maxMessageBytes + cutBytes} bytes; skipped: ${text.slice(0, 200)}`,
          );
      },
      () => this.emit("close"),
    );
  }

  /** Writes one command; a closed channel drops it (the process's exit reports why). */
  send(command: EngineCommand): void {
    const output = this.#output;
    if (output.destroyed || !output.writable) return;
    output.write(`${JSON.stringify(command)}\n`);
  }

  /** Sends the command `build` makes for a fresh id, and resolves with the reply carrying that id. */
  request(
    kind: string,
    build: (id: string) => EngineCommand,
    timeoutMs = this.#requestTimeoutMs,
  ): Promise<EngineMessage> {
    this.#requestCounter += 1;
    const id = `${kind}-${this.#requestCounter}`;
    const { promise, resolve, reject } = Promise.withResolvers<EngineMessage>();
    const timer = setTimeout(() => {
      this.#requests.delete(id);
      reject(new EngineRequestError(`${kind} got no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    this.#requests.set(id, { resolve, reject, timer });
    this.send(build(id));
    return promise;
  }

  /** WanGP's defaults, LoRA folder and availability for a model type. */
  async describe(modelType: string, timeoutMs?: number): Promise<DescribedMessage> {
    const build = (id: string): EngineCommand => ({ type: "describe", id, model_type: modelType });
    const message = await this.request("describe", build, timeoutMs);
    if (message.type !== "described") throw new EngineRequestError(`unexpected reply ${message.type}`);
    return message;
  }

  /** Round trip through the engine's command loop, in milliseconds. */
  async ping(timeoutMs?: number): Promise<number> {
    const started = performance.now();
    await this.request("ping", (id) => ({ type: "ping", id }), timeoutMs);
    return performance.now() - started;
  }

  /** Fails every request still waiting for its answer. */
  failRequests(message: string): void {
    for (const id of [...this.#requests.keys()]) this.#settle(id, new EngineRequestError(message));
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
      const { type, id } = typeof data === "object" && data !== null ? (data as Record<string, unknown>) : {};
      const problems = parsed.error.issues
        .slice(0, 5)
        .map((issue) => `${issue.path.map(String).join(".") || "(message)"}: ${issue.message}`)
        .join("; ");
      this.emit("malformed", { type, id, problems });
      return;
    }
    this.#onMessage(parsed.data);
  }

  #onMessage(message: EngineMessage): void {
    switch (message.type) {
      case "described":
      case "pong":
        this.#settle(message.id, message);
        return;
      case "protocol_error":
        this.#warn(`engine refused a command: ${message.message}`);
        if (message.id) this.#settle(message.id, new EngineRequestError(message.message));
        return;
      case "error":
        if (this.#settle(message.id, new EngineRequestError(message.message))) return;
        this.emit("message", message);
        return;
      default:
        this.emit("message", message);
    }
  }

  #settle(id: string, outcome: EngineMessage | Error): boolean {
    const pending = this.#requests.get(id);
    if (!pending) return false;
    this.#requests.delete(id);
    clearTimeout(pending.timer);
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
    return true;
  }

  #warn(message: string): void {
    this.emit("warning", message);
  }
}
