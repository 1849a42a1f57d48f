import { type LevelWithSilent, type Logger, pino } from "pino";
import pretty, { prettyFactory } from "pino-pretty";

export type { Logger } from "pino";

export interface LoggerOptions {
  /** Component name shown on every line (`worker`, `import-tasks`, `slot gpu0`). */
  name: string;
  /** Defaults to WGP_FARM_LOG_LEVEL, else `info`. */
  level?: LevelWithSilent;
  /** Human-readable lines instead of JSON. Defaults to true when stderr is a TTY (WGP_FARM_LOG_FORMAT overrides). */
  pretty?: boolean;
  /**
   * Where the lines go instead of stderr, written synchronously one whole line (or a pretty entry of
   * several lines) at a time: the worker's live block draws itself below them.
   */
  destination?: LogDestination;
}

/** A sink for whole log lines. */
export interface LogDestination {
  write(text: string): void;
}

/** Where loggers without a destination of their own write; stderr when unset. */
let processDestination: LogDestination | undefined;

/**
 * Sends the lines of every logger created from now on (without a destination of its own) to
 * `destination`, e.g. the worker's live block on a terminal; `undefined` goes back to stderr.
 */
export function routeLogs(destination: LogDestination | undefined): void {
  processDestination = destination;
}

const LEVELS: readonly LevelWithSilent[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

function levelFromEnv(): LevelWithSilent {
  const value = process.env.WGP_FARM_LOG_LEVEL?.toLowerCase();
  return LEVELS.find((level) => level === value) ?? "info";
}

/** Whether logs are pretty-printed unless a logger is told otherwise (WGP_FARM_LOG_FORMAT, else stderr a TTY). */
export function logsArePretty(): boolean {
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
  const usePretty = options.pretty ?? logsArePretty();
  const prettyOptions = { colorize: process.stderr.isTTY === true, ignore: "pid,hostname" };
  const destination = options.destination ?? processDestination;
  if (destination) {
    // pino hands each JSON line to `write` synchronously; pretty-printing it here keeps it so.
    const format = usePretty ? prettyFactory(prettyOptions) : (line: string) => line;
    return pino({ name: options.name, level }, { write: (line: string) => destination.write(format(line)) });
  }
  if (usePretty) {
    const stream = pretty({ destination: 2, sync: true, ...prettyOptions });
    return pino({ name: options.name, level }, stream);
  }
  return pino({ name: options.name, level }, pino.destination({ dest: 2, sync: true }));
}
