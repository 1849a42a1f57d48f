import { randomBytes } from "node:crypto";
import { readRecord } from "@wgp-farm/config";
import {
  type FarmKeys,
  RedisStore,
  readWebhookSubscriptions,
  TASK_WEBHOOK_SUBSCRIPTION,
  type WebhookSubscription,
  WebhookSubscriptionSchema,
} from "@wgp-farm/queue";
import {
  DEFAULT_WEBHOOK_EVENTS,
  FARM_EVENT_TYPES,
  type TaskWebhook,
  TaskWebhookSchema,
} from "@wgp-farm/tasks";
import { z } from "zod";
import { newWebhookSecret } from "./webhook-signature.js";

/** Where a delivery goes and what signs it: a farm-wide subscription, or one task's own webhook. */
export interface WebhookTarget {
  subscriptionId: string;
  url: string;
  events: readonly string[];
}

/**
 * The farm-wide webhook subscriptions (`wgp-farm webhook add/ls/rm`), the tasks' own webhooks (kept
 * from import until the task ends) and the secret that signs the latter, all in Redis.
 */
export class WebhookSubscriptions extends RedisStore<FarmKeys> {
  async add(
    url: string,
    events: readonly string[] | undefined,
    description = "",
  ): Promise<WebhookSubscription> {
    const subscription: WebhookSubscription = {
      id: `sub_${randomBytes(8).toString("hex")}`,
      url,
      events: z
        .array(z.enum(FARM_EVENT_TYPES))
        .parse(events?.length ? [...new Set(events)] : DEFAULT_WEBHOOK_EVENTS),
      secret: newWebhookSecret(),
      description,
      created_at: new Date().toISOString(),
    };
    await this.redis.hset(this.keys.webhookSubscriptions, subscription.id, JSON.stringify(subscription));
    return subscription;
  }

  async get(id: string): Promise<WebhookSubscription | undefined> {
    const raw = await this.redis.hget(this.keys.webhookSubscriptions, id);
    return readRecord(WebhookSubscriptionSchema, raw, "webhook subscription");
  }

  async list(): Promise<WebhookSubscription[]> {
    return readWebhookSubscriptions(this.redis, this.keys);
  }

  async remove(id: string): Promise<boolean> {
    return (await this.redis.hdel(this.keys.webhookSubscriptions, id)) === 1;
  }

  /** The secret that signs every task's own webhook, made on first use (tasks carry no secret of their own). */
  async taskSecret(): Promise<string> {
    await this.redis.set(this.keys.taskWebhookSecret, newWebhookSecret(), "NX");
    return (await this.redis.get(this.keys.taskWebhookSecret)) ?? "";
  }

  /** The webhooks the tasks asked for, of those that have one. */
  async ofTasks(taskIds: readonly string[]): Promise<Map<string, TaskWebhook>> {
    if (taskIds.length === 0) return new Map();
    const raws = await this.redis.hmget(this.keys.taskWebhooks, ...taskIds);
    const found = new Map<string, TaskWebhook>();
    taskIds.forEach((id, i) => {
      const hook = readRecord(TaskWebhookSchema, raws[i], "task webhook");
      if (hook) found.set(id, hook);
    });
    return found;
  }

  async forgetTasks(taskIds: readonly string[]): Promise<void> {
    if (taskIds.length > 0) await this.redis.hdel(this.keys.taskWebhooks, ...taskIds);
  }

  /** The secret that signs deliveries to `subscriptionId`; undefined once the subscription is removed. */
  async secretOf(subscriptionId: string): Promise<string | undefined> {
    if (subscriptionId === TASK_WEBHOOK_SUBSCRIPTION) return this.taskSecret();
    return (await this.get(subscriptionId))?.secret;
  }
}
