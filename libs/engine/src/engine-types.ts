import type {
  AudioRemuxParams,
  FatalMessage,
  LogMessage,
  MediaPostprocessingParams,
  ProgressMessage,
  ReadyMessage,
  StatusMessage,
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

/** A late post-processing job: one of WanGP's edit calls on an existing file (PROTOCOL.md, `postprocess`). */
export type PostprocessRequest = {
  /** Job id; every message of the job carries it. */
  id: string;
  /** Absolute path of the file to post-process. */
  source: string;
  /** Absolute staging folder the job's files are moved into. */
  outputDir: string;
} & (
  | { call: "media_postprocessing"; params: MediaPostprocessingParams }
  | { call: "audio_remux"; params: AudioRemuxParams }
);

export interface JobHandlers {
  onProgress?(message: ProgressMessage): void;
  onStatus?(message: StatusMessage): void;
  onLog?(message: LogMessage): void;
  /** Aborting sends `cancel`: the job then ends with an EngineJobError of kind `cancelled`. */
  signal?: AbortSignal;
}

export type EngineExitReason = "shutdown" | "fatal" | "crashed" | "hung" | "start-failed";

/** How a process ended: its exit code or the signal that ended it. */
export interface ProcessExit {
  code: number | null;
  signal: string | null;
}

export interface EngineExit extends ProcessExit {
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
