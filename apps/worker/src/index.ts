export { LiveBlock, type TerminalStream } from "./console/live-block.js";
export { slotLine } from "./console/slot-line.js";
export { openWorkerConsole, type WorkerConsole } from "./console/worker-console.js";
export { FarmWorker, type FarmWorkerHandle, startFarmWorker, type WorkerTestSeams } from "./farm-worker.js";
export {
  GpuDetectionError,
  planSlots,
  type SlotPlan,
  type SlotPlanOptions,
  workerHostName,
} from "./gpu-detection.js";
export { HttpInputSource } from "./inputs/http-source.js";
export { type CachedInput, InputCache, type InputCacheOptions } from "./inputs/input-cache.js";
export { CausVidDownloadError, CausVidLora, type CausVidLoraOptions } from "./job/causvid-lora.js";
export { openResultStore, type ResultStoreOptions } from "./output/open-result-store.js";
export { OutputPublisher, type PublishedFile, STAGING_DIR_NAME } from "./output/output-publisher.js";
export type { ResultManifest, ResultSummary, ResultTimings } from "./output/result-manifest.js";
export type { ResultStore } from "./output/result-store.js";
export { MANIFEST_NAME, S3ResultStore } from "./output/s3-result-store.js";
export { type PickupMark, type PickupSink, setPickupSink } from "./scheduling/pickup-trace.js";
export {
  decideNextQueue,
  type IdleReason,
  type LeftBacklog,
  type QueueSnapshot,
  type SchedulingDecision,
  type SchedulingInput,
  type TakeRule,
} from "./scheduling/scheduling-policy.js";
export {
  handleShutdownSignals,
  IMMEDIATE_EXIT_CODES,
  type ShutdownSignalOptions,
  STOP_SIGNALS,
  type StopSignal,
  surviveALostTerminal,
} from "./shutdown-signals.js";
export type { SlotEngineFactory } from "./slot/slot-engine.js";
export {
  type FarmWorkerOptions,
  type ResolvedWorkerOptions,
  resolveWorkerOptions,
  type SchedulingPolicyName,
  WORKER_DEFAULTS,
  WORKER_OPTION_SET,
  WorkerConfigError,
} from "./worker-options.js";
