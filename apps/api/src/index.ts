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
export { type DeliveryAttempt, DeliveryLog } from "./webhooks/delivery-log.js";
export { resolveWebhookTarget, WebhookTargetError } from "./webhooks/private-targets.js";
export {
  DEFAULT_WEBHOOK_RETRY,
  type DeliveryJobData,
  sendAgain,
  WEBHOOK_QUEUE,
  type WebhookRetryPolicy,
} from "./webhooks/webhook-queue.js";
export { webhookQueueOf } from "./webhooks/webhook-service.js";
export { signWebhook, verifyWebhook, webhookHeaders } from "./webhooks/webhook-signature.js";
export {
  TASK_WEBHOOK_SUBSCRIPTION,
  type WebhookSubscription,
  WebhookSubscriptions,
} from "./webhooks/webhook-subscriptions.js";
