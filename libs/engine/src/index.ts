export { BACKOFF_DEFAULTS, type BackoffOptions, backoffDelay } from "./backoff.js";
export {
  EngineJobError,
  type EngineJobErrorInit,
  type EngineJobErrorKind,
  EngineRequestError,
  EngineStartError,
} from "./engine-errors.js";
export {
  bridgeArgs,
  bridgeEnv,
  defaultEnginePyDir,
  defaultPython,
  ENGINE_DEFAULTS,
  type EngineProcessOptions,
  type WgpOptionName,
} from "./engine-options.js";
export {
  type EngineExit,
  type EngineExitReason,
  EngineProcess,
  type EngineProcessEvents,
  type EngineState,
  type GenerateRequest,
  type JobHandlers,
} from "./engine-process.js";
export {
  EngineSupervisor,
  type EngineSupervisorEvents,
  type EngineSupervisorOptions,
} from "./engine-supervisor.js";
export { LineRing } from "./line-ring.js";
export * from "./protocol.js";
