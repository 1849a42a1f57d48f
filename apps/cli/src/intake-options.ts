import { DEFAULT_PREFIX, DEFAULT_REDIS_URL, DEFAULT_RETRY_POLICY, type RetryPolicy } from "@wgp-farm/queue";
import { z } from "zod";
import { type CliOption, REDIS_OPTIONS } from "./cli-options.js";

/** Options of every command that takes tasks in (import-tasks, watch, headless). */
export const TASK_INTAKE_OPTIONS: readonly CliOption[] = [
  ...REDIS_OPTIONS,
  {
    flags: "--media-root <dir>",
    description: "folder that relative media paths resolve against",
    env: "WGP_FARM_MEDIA_ROOT",
    defaultText: "the tasks file's folder (the current folder for stdin)",
  },
  { flags: "--strict", description: "treat unknown fields as errors instead of warnings" },
  {
    flags: "--attempts <n>",
    description: "attempts per task for retryable failures (OOM, engine crash, hang)",
    env: "WGP_FARM_ATTEMPTS",
    defaultText: String(DEFAULT_RETRY_POLICY.attempts),
  },
  {
    flags: "--backoff-ms <ms>",
    description: "delay before the first retry; doubles each attempt",
    env: "WGP_FARM_BACKOFF_MS",
    defaultText: String(DEFAULT_RETRY_POLICY.backoffMs),
  },
];

export const TaskIntakeSettings = z.object({
  redisUrl: z.string().default(DEFAULT_REDIS_URL),
  prefix: z.string().min(1).default(DEFAULT_PREFIX),
  mediaRoot: z.string().optional(),
  strict: z.boolean().default(false),
  attempts: z.coerce.number().int().min(1).max(100).default(DEFAULT_RETRY_POLICY.attempts),
  backoffMs: z.coerce.number().int().min(0).default(DEFAULT_RETRY_POLICY.backoffMs),
});
export type TaskIntakeSettings = z.output<typeof TaskIntakeSettings>;

export function retryPolicyOf(settings: Pick<TaskIntakeSettings, "attempts" | "backoffMs">): RetryPolicy {
  return { attempts: settings.attempts, backoffMs: settings.backoffMs };
}
