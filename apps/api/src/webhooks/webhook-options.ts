import { option, SECONDS, switchOption } from "@wgp-farm/config";
import { z } from "zod";

const count = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

/** `wgp-farm api`'s options for webhook deliveries (spread into API_OPTION_SET). */
export const WEBHOOK_OPTION_SET = {
  allowPrivateTargets: switchOption({
    flag: "--allow-private-targets",
    env: "WGP_FARM_WEBHOOK_ALLOW_PRIVATE",
    description: "let webhooks target loopback, link-local and private addresses (refused by default)",
  }),
  webhookMinBackoffMs: option({
    flag: "--webhook-min-backoff",
    unit: SECONDS,
    env: "WGP_FARM_WEBHOOK_MIN_BACKOFF",
    description: "wait before a failed delivery's first retry (then doubling)",
    schema: count(1),
    default: 5_000,
  }),
  webhookMaxBackoffMs: option({
    flag: "--webhook-max-backoff",
    unit: SECONDS,
    env: "WGP_FARM_WEBHOOK_MAX_BACKOFF",
    description: "longest wait between two delivery attempts",
    schema: count(1),
    default: 3_600_000,
  }),
  webhookRetryForMs: option({
    flag: "--webhook-retry-for",
    unit: SECONDS,
    env: "WGP_FARM_WEBHOOK_RETRY_FOR",
    description: "how long a failing delivery is retried before it is dead-lettered",
    schema: count(1),
    default: 86_400_000,
  }),
  webhookTimeoutMs: option({
    flag: "--webhook-timeout",
    unit: SECONDS,
    env: "WGP_FARM_WEBHOOK_TIMEOUT",
    description: "how long a receiver may take to answer one delivery",
    schema: count(1),
    default: 10_000,
  }),
  webhookConcurrency: option({
    flag: "--webhook-concurrency",
    takes: "n",
    env: "WGP_FARM_WEBHOOK_CONCURRENCY",
    description: "deliveries in flight at once in this API process",
    schema: count(1, 1000),
    default: 32,
  }),
  webhookLockMs: option({
    flag: "--webhook-lock",
    unit: SECONDS,
    env: "WGP_FARM_WEBHOOK_LOCK",
    description:
      "lock of a delivery in flight: a killed API's deliveries are sent again after about this long",
    schema: count(1),
    default: 30_000,
  }),
  sseHeartbeatMs: option({
    flag: "--sse-heartbeat",
    unit: SECONDS,
    env: "WGP_FARM_API_SSE_HEARTBEAT",
    description: "how often a comment line keeps idle event streams open",
    schema: count(1),
    default: 15_000,
  }),
};
