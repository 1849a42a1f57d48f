export { CAUSVID_PRESET, isCausVidFamily, prependCausVidLora, WAN21_T2V_14B_FAMILY } from "./causvid.js";
export { closestName, editDistance } from "./closest-name.js";
export * from "./flow-fields.js";
export { taskListJsonSchema } from "./json-schema.js";
export {
  isMediaUrl,
  type MediaUrl,
  type MediaUrlOptions,
  parseMediaUrl,
  redactUrl,
  resolveMediaPath,
} from "./media-paths.js";
export { type ModelMediaType, mediaTypeOfModel } from "./model-media.js";
export {
  normalizeOutputSubDir,
  OutputDirEscapeError,
  outputSubDirProblem,
  RESERVED_OUTPUT_PREFIX,
  resolveOutputDir,
} from "./output-dir.js";
export {
  POST_STEP_NAMES,
  type PostStep,
  PostStepEntrySchema,
  type PostStepKind,
  postStepMediaProblem,
  SOUNDTRACK_METHODS,
  TEMPORAL_UPSAMPLINGS,
} from "./post-steps.js";
export { TASK_ID_MAX_LENGTH, taskIdProblem } from "./task-id.js";
export { deriveTaskId } from "./task-id-derivation.js";
export {
  DEFAULT_MODEL,
  DEFAULT_PRIORITY,
  isStitchTask,
  MAX_FRAMES,
  MEDIA_TASK_FIELDS,
  PRIORITY_MAX,
  PRIORITY_MIN,
  type StitchTask,
  StitchTaskFieldsSchema,
  TASK_FIELD_NAMES,
  TASK_FIELD_TO_WANGP_KEY,
  type Task,
  type TaskFields,
  TaskFieldsSchema,
} from "./task-schema.js";
export { readTaskRecords, type TaskRecord, type TaskStreamOptions } from "./task-stream.js";
export {
  type TaskIssue,
  TaskValidator,
  type TaskValidatorOptions,
  type TaskVerdict,
} from "./task-validator.js";
export {
  DEFAULT_WEBHOOK_EVENTS,
  FARM_EVENT_TYPES,
  type FarmEventType,
  type TaskWebhook,
  TaskWebhookSchema,
} from "./task-webhook.js";
export { hasControlCharacters, hasControlCharactersBesidesLineBreaks } from "./text-rules.js";
export {
  KNOWN_MODEL_TYPES,
  WANGP_CATALOG,
  WANGP_MEDIA_KEYS,
  WANGP_SETTING_NAMES,
  type WanGPCatalog,
  type WangpKnowledge,
  wangpLoraSubdir,
  wanLoraSubdir,
} from "./wangp-catalog.js";
export {
  toWanGPSettings,
  translateLegacyVideoPromptType,
  type WanGPSettings,
  type WanGPSettingsPlan,
} from "./wangp-settings.js";
