import { type LevelWithSilent, type Logger, pino } from "pino";
import pretty from "pino-pretty";

export type { Logger } from "pino";

export interface LoggerOptions {
  /** Component name shown on every line (`worker`, `import-tasks`, `slot gpu0`). */
  name: string;
  /** Defaults to WGP_FARM_LOG_LEVEL, else `info`. */
  level?: LevelWithSilent;
  /** Human-readable lines instead of JSON. Defaults to true when stderr is a TTY (WGP_FARM_LOG_FORMAT overrides). */
  pretty?: boolean;
}

const LEVELS: readonly LevelWithSilent[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

function levelFromEnv(): LevelWithSilent {
  const value = process.env.WGP_FARM_LOG_LEVEL?.toLowerCase();
  return LEVELS.find((level) => level === value) ?? "info";
}

function prettyFromEnv(): boolean {
  const format = process.env.WGP_FARM_LOG_FORMAT?.toLowerCase();
  if (format === "json") return false;
  if (format === "pretty") return true;
  return process.stderr.isTTY === true;
}

/**
 * Logs go to stderr so that stdout stays free for command output (tables, --json).
 * JSON in production, pretty on a TTY.
 */
export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? levelFromEnv();
  const usePretty = options.pretty ?? prettyFromEnv();
  if (usePretty) {
    const stream = pretty({
      destination: 2,
      sync: true,
      colorize: process.stderr.isTTY === true,
      ignore: "pid,hostname",
    });
    return pino({ name: options.name, level }, stream);
  }
  return pino({ name: options.name, level }, pino.destination({ dest: 2, sync: true }));
}
