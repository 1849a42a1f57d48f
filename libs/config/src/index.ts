export { createLogger, type Logger, type LoggerOptions } from "./logger.js";
export { ConfigError, type OptionSpec, resolveSettings } from "./settings.js";
