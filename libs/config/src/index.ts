export { bestEffort } from "./best-effort.js";
export { answerWithin, settleWithin } from "./bounded-wait.js";
export { ConfigError, ExitCode, UserError } from "./errors.js";
export {
  createLogger,
  type LogDestination,
  type Logger,
  type LoggerOptions,
  logsArePretty,
  routeLogs,
} from "./logger.js";
export { addOptions, describeOption, isRequired } from "./options/commander-options.js";
export {
  choiceOption,
  type DefaultedField,
  defaultTextOf,
  flagsOf,
  listOption,
  MINUTES,
  type OptionField,
  option,
  type RequiredField,
  SECONDS,
  switchOption,
  type Unit,
} from "./options/option-field.js";
export {
  defaultsOf,
  type OptionDefaults,
  type OptionSet,
  type OptionValues,
  type ValueOf,
  valuesOf,
} from "./options/option-set.js";
export { readRecord } from "./records.js";
