import { DEFAULT_PREFIX, DEFAULT_REDIS_URL } from "@wgp-farm/queue";
import { z } from "zod";

/**
 * One option of `wgp-farm api` / `wgp-farm token`: flag, environment variable, default as shown in
 * --help, and help text, declared once here (the CLI only registers them).
 */
export interface ApiOption {
  flags: string;
  description: string;
  env?: string;
  defaultText?: string;
}

export const DEFAULT_API_HOST = "127.0.0.1";
export const DEFAULT_API_PORT = 8080;

export const API_REDIS_OPTIONS: readonly ApiOption[] = [
  {
    flags: "--redis-url <url>",
    description: "Redis to use",
    env: "REDIS_URL",
    defaultText: DEFAULT_REDIS_URL,
  },
  {
    flags: "--prefix <prefix>",
    description: "key prefix of every queue and key (use a hash tag such as {wgp} on Redis Cluster)",
    env: "WGP_FARM_PREFIX",
    defaultText: DEFAULT_PREFIX,
  },
];

export const API_OPTIONS: readonly ApiOption[] = [
  {
    flags: "--host <address>",
    description: "address to listen on",
    env: "WGP_FARM_API_HOST",
    defaultText: DEFAULT_API_HOST,
  },
  {
    flags: "--port <port>",
    description: "port to listen on (0: any free port)",
    env: "WGP_FARM_API_PORT",
    defaultText: String(DEFAULT_API_PORT),
  },
  ...API_REDIS_OPTIONS,
  {
    flags: "--output-root <dir>",
    description:
      "the workers' main output dir on this host (task files are served from it, never outside it)",
    env: "WGP_FARM_API_OUTPUT_ROOT",
  },
  {
    flags: "--inputs-dir <dir>",
    description: "folder on the shared disk where uploaded inputs are stored (content-addressed)",
    env: "WGP_FARM_API_INPUTS_DIR",
  },
  {
    flags: "--media-root <dir...>",
    description:
      "folders (comma-separated in the env var) whose files tasks may name besides uploaded inputs",
    env: "WGP_FARM_API_MEDIA_ROOTS",
    defaultText: "none: uploaded inputs only",
  },
  {
    flags: "--max-body-bytes <n>",
    description: "largest JSON request body",
    env: "WGP_FARM_API_MAX_BODY_BYTES",
    defaultText: "1048576",
  },
  {
    flags: "--max-upload-bytes <n>",
    description: "largest uploaded input file",
    env: "WGP_FARM_API_MAX_UPLOAD_BYTES",
    defaultText: String(512 * 1024 * 1024),
  },
  {
    flags: "--max-batch <n>",
    description: "most tasks in one submit",
    env: "WGP_FARM_API_MAX_BATCH",
    defaultText: "1000",
  },
  {
    flags: "--submit-rate <n>",
    description: "submit requests (tasks, inputs, retries) per token per minute",
    env: "WGP_FARM_API_SUBMIT_RATE",
    defaultText: "120",
  },
  {
    flags: "--max-in-flight <n>",
    description: "tasks per token that may be waiting or running at once",
    env: "WGP_FARM_API_MAX_IN_FLIGHT",
    defaultText: "1000",
  },
  {
    flags: "--idempotency-ttl-s <s>",
    description: "how long a stored submit response answers a retried request",
    env: "WGP_FARM_API_IDEMPOTENCY_TTL_S",
    defaultText: "86400",
  },
  {
    flags: "--request-timeout-ms <ms>",
    description: "a request (upload included) must arrive whole within this time",
    env: "WGP_FARM_API_REQUEST_TIMEOUT_MS",
    defaultText: "300000",
  },
  {
    flags: "--attempts <n>",
    description: "attempts per task for retryable failures (OOM, engine crash, hang)",
    env: "WGP_FARM_ATTEMPTS",
    defaultText: "3",
  },
];

const commaList = z
  .union([z.array(z.string()), z.string()])
  .transform((value) =>
    (Array.isArray(value) ? value : value.split(",")).map((item) => item.trim()).filter(Boolean),
  );

export const ApiSettings = z.object({
  host: z.string().min(1).default(DEFAULT_API_HOST),
  port: z.coerce.number().int().min(0).max(65_535).default(DEFAULT_API_PORT),
  redisUrl: z.string().default(DEFAULT_REDIS_URL),
  prefix: z.string().min(1).default(DEFAULT_PREFIX),
  outputRoot: z.string({ error: "is required: the workers' main output dir" }).min(1),
  inputsDir: z.string({ error: "is required: where uploaded inputs go" }).min(1),
  mediaRoot: commaList.default([]),
  maxBodyBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  maxUploadBytes: z.coerce
    .number()
    .int()
    .min(1)
    .default(512 * 1024 * 1024),
  maxBatch: z.coerce.number().int().min(1).max(100_000).default(1000),
  submitRate: z.coerce.number().int().min(1).default(120),
  maxInFlight: z.coerce.number().int().min(1).default(1000),
  idempotencyTtlS: z.coerce.number().int().min(1).default(86_400),
  requestTimeoutMs: z.coerce.number().int().min(100).default(300_000),
  attempts: z.coerce.number().int().min(1).max(100).default(3),
});
export type ApiSettings = z.output<typeof ApiSettings>;

export const TOKEN_CREATE_OPTIONS: readonly ApiOption[] = [
  { flags: "--name <name>", description: "who or what the token is for (shown by token ls)" },
  {
    flags: "--scope <scope...>",
    description: "what the token may do: submit, read, cancel, admin",
    defaultText: "submit read cancel",
  },
  ...API_REDIS_OPTIONS,
  { flags: "--json", description: "print JSON for scripts" },
];

export const TOKEN_LIST_OPTIONS: readonly ApiOption[] = [
  ...API_REDIS_OPTIONS,
  { flags: "--json", description: "print JSON for scripts" },
];
