export { bestEffort } from "./best-effort.js";
export { ExitCode, UserError } from "./errors.js";
export { createLogger, type Logger, type LoggerOptions } from "./logger.js";
export { readRecord } from "./records.js";
export { ConfigError, type OptionSpec, resolveSettings } from "./settings.js";
