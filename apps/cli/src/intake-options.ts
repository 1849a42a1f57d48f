import { type OptionValues, option, SECONDS, switchOption } from "@wgp-farm/config";
import {
  DEFAULT_MAX_INPUT_BYTES,
  DEFAULT_RETRY_POLICY,
  importerProbes,
  type RetryPolicy,
  type SourceImportOptions,
  UrlCheck,
} from "@wgp-farm/queue";
import { STORAGE_OPTION_SET } from "@wgp-farm/storage";
import { z } from "zod";
import { REDIS_OPTIONS } from "./cli-options.js";

/** Options of every command that takes tasks in (import-tasks, watch, headless). */
export const TASK_INTAKE_OPTIONS = {
  ...REDIS_OPTIONS,
  mediaRoot: option({
    flag: "--media-root",
    takes: "dir",
    env: "WGP_FARM_MEDIA_ROOT",
    description: "folder that relative media paths resolve against",
    schema: z.string().min(1),
    defaultText: "the tasks file's folder (the current folder for stdin)",
  }),
  strict: switchOption({
    flag: "--strict",
    description: "treat unknown fields as errors instead of warnings",
  }),
  attempts: option({
    flag: "--attempts",
    takes: "n",
    env: "WGP_FARM_ATTEMPTS",
    description: "attempts per task for retryable failures (OOM, engine crash, hang)",
    schema: z.coerce.number().int().min(1).max(100),
    default: DEFAULT_RETRY_POLICY.attempts,
  }),
  backoffMs: option({
    flag: "--backoff-ms",
    takes: "ms",
    env: "WGP_FARM_BACKOFF_MS",
    description: "delay before the first retry; doubles each attempt",
    schema: z.coerce.number().int().min(0),
    default: DEFAULT_RETRY_POLICY.backoffMs,
  }),
};

/** The tasks file a command watches (watch, headless). */
export const TASKS_FILE_OPTION = option({
  flag: "--tasks-file",
  takes: "file",
  env: "WGP_FARM_TASKS_FILE",
  description: "the tasks.json to watch; tasks appended to it later are picked up",
  schema: z.string().min(1),
  required: true,
});

export const POLL_INTERVAL_OPTION = option({
  flag: "--poll-interval",
  unit: SECONDS,
  env: "WGP_FARM_POLL_INTERVAL",
  description: "seconds between checks of the tasks file when no file-system event arrives",
  schema: z.coerce.number().positive(),
  default: 10_000,
});

export function retryPolicyOf(settings: { attempts: number; backoffMs: number }): RetryPolicy {
  return { attempts: settings.attempts, backoffMs: settings.backoffMs };
}

/** How a command that takes tasks in treats media given by URL (import-tasks; watch and headless may add them). */
export const MEDIA_URL_OPTIONS = {
  maxInputSize: option({
    flag: "--max-input-size",
    unit: { name: "GiB", scale: 1024 ** 3 },
    env: "WGP_FARM_MAX_INPUT_SIZE",
    description: "a media input given by URL that is larger than this is refused",
    schema: z.coerce.number().positive(),
    default: DEFAULT_MAX_INPUT_BYTES,
  }),
  allowHttpMedia: switchOption({
    flag: "--allow-http-media",
    env: "WGP_FARM_ALLOW_HTTP_MEDIA",
    description:
      "accept plain http:// media URLs (a private network you trust); default https:// and s3:// only",
  }),
  skipUrlCheck: switchOption({
    flag: "--skip-url-check",
    description: "do not ask the stores whether media URLs exist (their form is still checked)",
  }),
  // Where s3:// inputs are asked about (credentials from the AWS chain).
  s3Endpoint: STORAGE_OPTION_SET.s3Endpoint,
  s3Region: STORAGE_OPTION_SET.s3Region,
  s3PathStyle: STORAGE_OPTION_SET.s3PathStyle,
  s3Profile: STORAGE_OPTION_SET.s3Profile,
};

/** The import options MEDIA_URL_OPTIONS ask for: http:// allowed or not, and the URL check. */
export function mediaUrlImportOptions(
  settings: OptionValues<typeof MEDIA_URL_OPTIONS>,
): Pick<SourceImportOptions, "allowHttpMedia" | "urlCheck"> {
  return {
    allowHttpMedia: settings.allowHttpMedia,
    ...(settings.skipUrlCheck
      ? {}
      : {
          urlCheck: new UrlCheck({ probes: importerProbes(settings), maxInputBytes: settings.maxInputSize }),
        }),
  };
}
