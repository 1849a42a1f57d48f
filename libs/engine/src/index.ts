export { BACKOFF_DEFAULTS, type BackoffOptions, backoffDelay } from "./backoff.js";
export {
  EngineChannel,
  type EngineChannelEvents,
  MAX_MESSAGE_BYTES,
  type MalformedMessage,
} from "./engine-channel.js";
export { EngineChild, type EngineChildEvents, type EngineChildSpec, residentMiB } from "./engine-child.js";
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
  bridgeSpawnSpec,
  DEFAULT_PYTHON,
  defaultEnginePyDir,
  defaultPython,
  ENGINE_DEFAULTS,
  type EngineLimits,
  type EngineProcessOptions,
  engineLimits,
  type WgpOptionName,
} from "./engine-options.js";
export { EngineProcess } from "./engine-process.js";
export {
  EngineSupervisor,
  type EngineSupervisorEvents,
  type EngineSupervisorOptions,
  type RecycleOptions,
  type SupervisorState,
} from "./engine-supervisor.js";
export type * from "./engine-types.js";
export { LineRing } from "./line-ring.js";
export * from "./protocol.js";
