// The delivery records and queue live in @wgp-farm/queue (the dashboard reads them too).
export {
  DEFAULT_WEBHOOK_RETRY,
  type DeliveryAttempt,
  type DeliveryJobData,
  DeliveryLog,
  sendAgain,
  TASK_WEBHOOK_SUBSCRIPTION,
  WEBHOOK_QUEUE,
  type WebhookRetryPolicy,
  type WebhookSubscription,
  webhookQueueOf,
} from "@wgp-farm/queue";
export { ApiKeys } from "./api-keys.js";
export {
  API_DEFAULTS,
  API_OPTION_SET,
  type ApiSettings,
  DEFAULT_API_HOST,
  DEFAULT_API_PORT,
} from "./api-options.js";
export { type ApiTokenInfo, ApiTokenStore, TokenError } from "./auth/api-token-store.js";
export { DEFAULT_SCOPES, SCOPES, type Scope } from "./auth/scopes.js";
export { type ApiOptions, type RunningApi, startApi } from "./start-api.js";
export { resolveWebhookTarget, WebhookTargetError } from "./webhooks/private-targets.js";
export { signWebhook, verifyWebhook, webhookHeaders } from "./webhooks/webhook-signature.js";
export { WebhookSubscriptions } from "./webhooks/webhook-subscriptions.js";
