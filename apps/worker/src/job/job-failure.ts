import { EngineJobError, EngineStartError } from "@wgp-farm/engine";
import type { AttemptOutcome } from "@wgp-farm/queue";
import { OutputDirEscapeError } from "@wgp-farm/tasks";
import { UnrecoverableError } from "bullmq";
import { CausVidDownloadError } from "./causvid-lora.js";
import { MissingMediaError } from "./media-check.js";

/** How one attempt failed, in the terms the slot acts on. */
export interface JobFailure {
  /** What happened, as the attempt history records it. */
  outcome: Extract<AttemptOutcome, "failed" | "crashed" | "hung">;
  /** `invalid: …`, `oom: …`, `engine crashed: …`: the first line of the job's error. */
  message: string;
  /** Worth another attempt (OOM, crash, hang, a failed download); an invalid task is not. */
  retryable: boolean;
  /** Lines that explain it (the engine's problems, its last stderr lines), for the job log and the stack. */
  details: string[];
}

const STDERR_LINES = 20;

function engineDetails(error: EngineJobError): string[] {
  const lines: string[] = [];
  const problems = error.detail?.problems;
  if (Array.isArray(problems)) lines.push(...problems.map((problem) => `problem: ${String(problem)}`));
  const errors = error.detail?.errors;
  if (Array.isArray(errors)) {
    for (const entry of errors) {
      const { message, stage } = (entry ?? {}) as { message?: unknown; stage?: unknown };
      if (message) lines.push(`WanGP ${String(stage ?? "error")}: ${String(message)}`);
    }
  }
  const tail = error.stderrTail.slice(-STDERR_LINES);
  if (tail.length > 0) lines.push("engine stderr (last lines):", ...tail.map((line) => `  ${line}`));
  return lines;
}

const ENGINE_KIND_LABEL: Record<string, string> = {
  invalid: "invalid",
  oom: "oom",
  engine: "engine error",
  busy: "engine busy",
  download: "download failed",
  crashed: "engine crashed",
  hung: "hung",
};

/** Classifies whatever a job attempt threw (cancels are handled before this). */
export function classifyFailure(error: unknown): JobFailure {
  if (error instanceof EngineJobError) {
    const label = ENGINE_KIND_LABEL[error.kind] ?? error.kind;
    return {
      outcome: error.kind === "crashed" ? "crashed" : error.kind === "hung" ? "hung" : "failed",
      message: `${label}: ${error.message}`,
      retryable: error.kind !== "invalid",
      details: engineDetails(error),
    };
  }
  if (error instanceof MissingMediaError) {
    return {
      outcome: "failed",
      message: `invalid: ${error.message}`,
      retryable: false,
      details: error.problems,
    };
  }
  if (error instanceof OutputDirEscapeError) {
    return { outcome: "failed", message: `invalid: ${error.message}`, retryable: false, details: [] };
  }
  if (error instanceof EngineStartError) {
    return {
      outcome: "crashed",
      message: `engine crashed: ${error.message}`,
      retryable: true,
      details: error.stderrTail.slice(-STDERR_LINES),
    };
  }
  if (error instanceof CausVidDownloadError) {
    return { outcome: "failed", message: error.message, retryable: true, details: [] };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    outcome: "failed",
    message: `worker error: ${message}`,
    retryable: true,
    details: error instanceof Error && error.stack ? error.stack.split("\n").slice(1, 8) : [],
  };
}

/**
 * The error handed to BullMQ. Its stack is the message and the details, not a Node stack trace:
 * BullMQ keeps one stack per failed attempt, which is what Bull Board and `status` show.
 */
export function errorForQueue(message: string, details: readonly string[], retryable: boolean): Error {
  const error = retryable ? new Error(message) : new UnrecoverableError(message);
  error.stack = [message, ...details].join("\n");
  return error;
}
