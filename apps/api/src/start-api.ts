import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createLogger, type Logger } from "@wgp-farm/config";
import { DEFAULT_RETRY_POLICY, FarmConnection, FarmEvents, redisStepMs, settleWithin } from "@wgp-farm/queue";
import { BucketResults } from "@wgp-farm/storage";
import { ApiKeys } from "./api-keys.js";
import type { ApiSettings } from "./api-options.js";
import { createApiApp } from "./app.js";
import { ApiTokenStore } from "./auth/api-token-store.js";
import { SubmitLimits } from "./auth/submit-limits.js";
import { EventHub } from "./events/event-hub.js";
import { InputStore } from "./inputs/input-store.js";
import { IdempotencyStore } from "./intake/idempotency-store.js";
import { MediaReferences } from "./intake/media-references.js";
import { TaskSubmission } from "./intake/task-submission.js";
import { OutputFiles } from "./outputs/output-files.js";
import { TaskOwners } from "./tasks/task-owners.js";
import type { WebhookDeliveryOptions } from "./webhooks/webhook-deliveries.js";
import { WebhookService } from "./webhooks/webhook-service.js";

export interface ApiOptions extends ApiSettings {
  logger?: Logger;
}

export interface RunningApi {
  /** Where the API answers, e.g. `http://127.0.0.1:8080` (no trailing slash). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** How long a client may take to send its request headers (slow-loris guard). */
const HEADERS_TIMEOUT_MS = 10_000;

async function listen(server: Server, host: string, port: number): Promise<number> {
  const listening = Promise.withResolvers<void>();
  server.once("error", listening.reject);
  server.listen(port, host, () => listening.resolve());
  await listening.promise;
  server.off("error", listening.reject);
  return (server.address() as AddressInfo).port;
}

function webhookOptionsOf(options: ApiOptions): WebhookDeliveryOptions {
  return {
    retry: {
      minBackoffMs: options.webhookMinBackoffMs,
      maxBackoffMs: options.webhookMaxBackoffMs,
      retryForMs: options.webhookRetryForMs,
    },
    timeoutMs: options.webhookTimeoutMs,
    concurrency: options.webhookConcurrency,
    allowPrivateTargets: options.allowPrivateTargets,
    lockDurationMs: options.webhookLockMs,
  };
}

/** Starts the HTTP API over the farm's Redis (`wgp-farm api`). */
export async function startApi(options: ApiOptions): Promise<RunningApi> {
  const logger = options.logger ?? createLogger({ name: "api" });
  const farm = await FarmConnection.open(options.redisUrl, options.prefix, {
    role: "service",
    connectionName: "wgp-farm:api",
  });
  let hub: EventHub | undefined;
  let webhooks: WebhookService | undefined;
  try {
    const keys = new ApiKeys(options.prefix);
    const owners = new TaskOwners(farm.redis, keys, farm.keys);
    const log = new FarmEvents(farm.redis, farm.keys, { logger });
    hub = new EventHub(farm.redis.duplicate(), log, owners, { heartbeatMs: options.sseHeartbeatMs, logger });
    await hub.start();
    webhooks = await WebhookService.start(farm, log, webhookOptionsOf(options), logger);
    const limits = new SubmitLimits(farm, keys, {
      perMinute: options.submitRate,
      maxInFlight: options.maxInFlight,
    });
    const inputs = new InputStore(options.inputsDir, options.maxUploadBytes);
    const submission = new TaskSubmission({
      farm,
      owners,
      limits,
      idempotency: new IdempotencyStore(farm.redis, keys, options.idempotencyTtlS),
      media: new MediaReferences(inputs, options.mediaRoot),
      inputsDir: options.inputsDir,
      retry: { attempts: options.attempts, backoffMs: DEFAULT_RETRY_POLICY.backoffMs },
      maxBatch: options.maxBatch,
      allowPrivateTargets: options.allowPrivateTargets,
    });
    const results = new BucketResults(options, { within: options.outputStore, logger });
    const app = createApiApp({
      farm,
      keys,
      owners,
      limits,
      submission,
      inputs,
      outputs: new OutputFiles(options.outputRoot, { results, linkTtlMs: options.s3LinkTtlMs }),
      tokens: new ApiTokenStore(farm.redis, keys),
      hub,
      maxBodyBytes: options.maxBodyBytes,
      logger,
    });
    const server = createServer(
      {
        requestTimeout: options.requestTimeoutMs,
        headersTimeout: Math.min(HEADERS_TIMEOUT_MS, options.requestTimeoutMs),
        // Node checks both timeouts on this period (30 s by default): check often enough to hold them.
        connectionsCheckingInterval: Math.min(1000, options.requestTimeoutMs),
      },
      app,
    );
    const port = await listen(server, options.host, options.port);
    const shownHost = options.host.includes(":") ? `[${options.host}]` : options.host;
    const url = `http://${shownHost}:${port}`;
    logger.info({ url }, "API listening");
    const running = { hub, webhooks };
    return {
      url,
      port,
      async close() {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        // Closing the delivery queue needs Redis; a Redis that went away must not keep the API from stopping.
        await settleWithin(
          Promise.all([running.hub.stop(), running.webhooks.close()]),
          redisStepMs(farm.redis),
        );
        await farm.close();
        results.close();
      },
    };
  } catch (error) {
    await hub?.stop();
    await webhooks?.close();
    await farm.close();
    throw error;
  }
}
