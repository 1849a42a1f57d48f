import { defaultsOf, type OptionValues, option, SECONDS } from "@wgp-farm/config";
import { LINK_TTL_OPTION, OUTPUT_STORE_OPTION, S3_ACCESS_OPTION_SET } from "@wgp-farm/storage";
import { z } from "zod";
import { WEBHOOK_OPTION_SET } from "./webhooks/webhook-options.js";

export const DEFAULT_API_HOST = "127.0.0.1";
export const DEFAULT_API_PORT = 8080;

const count = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

/** `--media-root a --media-root b`, or `a,b` in the variable. */
const folderList = z
  .union([z.array(z.string()), z.string()])
  .transform((value) =>
    (Array.isArray(value) ? value : value.split(",")).map((item) => item.trim()).filter(Boolean),
  );

/** `wgp-farm api`'s own options, each declared once (the CLI adds Redis and the prefix). */
export const API_OPTION_SET = {
  host: option({
    flag: "--host",
    takes: "address",
    env: "WGP_FARM_API_HOST",
    description: "address to listen on",
    schema: z.string().min(1),
    default: DEFAULT_API_HOST,
  }),
  port: option({
    flag: "--port",
    takes: "port",
    env: "WGP_FARM_API_PORT",
    description: "port to listen on (0: any free port)",
    schema: count(0, 65_535),
    default: DEFAULT_API_PORT,
  }),
  outputRoot: option({
    flag: "--output-root",
    takes: "dir",
    env: "WGP_FARM_API_OUTPUT_ROOT",
    description:
      "the workers' main output dir on this host (task files are served from it, never outside it)",
    schema: z.string().min(1),
    required: true,
  }),
  inputsDir: option({
    flag: "--inputs-dir",
    takes: "dir",
    env: "WGP_FARM_API_INPUTS_DIR",
    description: "folder on the shared disk where uploaded inputs are stored (content-addressed)",
    schema: z.string().min(1),
    required: true,
  }),
  mediaRoot: option({
    flag: "--media-root",
    takes: "dir...",
    env: "WGP_FARM_API_MEDIA_ROOTS",
    description:
      "folders (comma-separated in the variable) whose files tasks may name besides uploaded inputs",
    schema: folderList,
    default: [],
    defaultText: "none: uploaded inputs only",
  }),
  maxBodyBytes: option({
    flag: "--max-body-bytes",
    takes: "n",
    env: "WGP_FARM_API_MAX_BODY_BYTES",
    description: "largest JSON request body",
    schema: count(1024),
    default: 1024 * 1024,
  }),
  maxUploadBytes: option({
    flag: "--max-upload-bytes",
    takes: "n",
    env: "WGP_FARM_API_MAX_UPLOAD_BYTES",
    description: "largest uploaded input file",
    schema: count(1),
    default: 512 * 1024 * 1024,
  }),
  maxBatch: option({
    flag: "--max-batch",
    takes: "n",
    env: "WGP_FARM_API_MAX_BATCH",
    description: "most tasks in one submit",
    schema: count(1, 100_000),
    default: 1000,
  }),
  submitRate: option({
    flag: "--submit-rate",
    takes: "n",
    env: "WGP_FARM_API_SUBMIT_RATE",
    description: "submit requests (tasks, inputs, retries) per token per minute",
    schema: count(1),
    default: 120,
  }),
  maxInFlight: option({
    flag: "--max-in-flight",
    takes: "n",
    env: "WGP_FARM_API_MAX_IN_FLIGHT",
    description: "tasks per token that may be waiting or running at once",
    schema: count(1),
    default: 1000,
  }),
  idempotencyTtlS: option({
    flag: "--idempotency-ttl-s",
    takes: "s",
    env: "WGP_FARM_API_IDEMPOTENCY_TTL_S",
    description: "how long a stored submit response answers a retried request",
    schema: count(1),
    default: 86_400,
  }),
  requestTimeoutMs: option({
    flag: "--request-timeout",
    unit: SECONDS,
    env: "WGP_FARM_API_REQUEST_TIMEOUT",
    description: "a request (upload included) must arrive whole within this time",
    schema: count(1),
    default: 300_000,
  }),
  attempts: option({
    flag: "--attempts",
    takes: "n",
    env: "WGP_FARM_ATTEMPTS",
    description: "attempts per task for retryable failures (OOM, engine crash, hang)",
    schema: count(1, 100),
    default: 3,
  }),
  ...WEBHOOK_OPTION_SET,
  // Results kept in a bucket: their files are served by redirects to presigned links.
  outputStore: OUTPUT_STORE_OPTION,
  ...S3_ACCESS_OPTION_SET,
  s3LinkTtlMs: LINK_TTL_OPTION,
};

/** What the API runs with: its own options plus the farm's Redis. */
type ApiValues = OptionValues<typeof API_OPTION_SET>;
/** The bucket settings without a default that callers in code may leave out (no bucket: folder results). */
type OptionalStoreKeys = "outputStore" | "s3Endpoint" | "s3Profile";
export type ApiSettings = Omit<ApiValues, OptionalStoreKeys> &
  Partial<Pick<ApiValues, OptionalStoreKeys>> & { redisUrl: string; prefix: string };

/** The defaults of every API option, for callers that start the API in-process (tests, benches). */
export const API_DEFAULTS = defaultsOf(API_OPTION_SET);
