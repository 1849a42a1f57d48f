import type { EngineErrorKind, FatalMessage } from "./protocol.js";

/** How a job ended without a result: the engine's own kinds, plus what only the parent can see. */
export type EngineJobErrorKind = EngineErrorKind | "crashed" | "hung";

export interface EngineJobErrorInit {
  kind: EngineJobErrorKind;
  jobId: string;
  message: string;
  detail?: Record<string, unknown> | null;
  stderrTail?: string[];
}

/** A job that ended without a result. `kind` says why; `detail` is the engine's (PROTOCOL.md). */
export class EngineJobError extends Error {
  override readonly name = "EngineJobError";
  readonly kind: EngineJobErrorKind;
  readonly jobId: string;
  readonly detail: Record<string, unknown> | null;
  /** The engine's last stderr lines when the job ended: for error reports. */
  readonly stderrTail: string[];

  constructor(init: EngineJobErrorInit) {
    super(init.message);
    this.kind = init.kind;
    this.jobId = init.jobId;
    this.detail = init.detail ?? null;
    this.stderrTail = init.stderrTail ?? [];
  }

  /** The engine process is gone or unusable after this job: it died, hung, or hit a CUDA error
   * that poisons the context (the engine then exits on its own). */
  get engineLost(): boolean {
    return this.kind === "crashed" || this.kind === "hung" || this.detail?.cuda_context_poisoned === true;
  }
}

/** The engine did not become ready: it sent `fatal`, exited, or stayed silent too long. */
export class EngineStartError extends Error {
  override readonly name = "EngineStartError";
  readonly fatal: FatalMessage | undefined;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stderrTail: string[];

  constructor(
    message: string,
    options: {
      fatal?: FatalMessage;
      exitCode?: number | null;
      signal?: string | null;
      stderrTail?: string[];
    },
  ) {
    super(message);
    this.fatal = options.fatal;
    this.exitCode = options.exitCode ?? null;
    this.signal = options.signal ?? null;
    this.stderrTail = options.stderrTail ?? [];
  }
}

/** A describe or ping that got no answer: refused, timed out, or the engine went away. */
export class EngineRequestError extends Error {
  override readonly name = "EngineRequestError";
}
