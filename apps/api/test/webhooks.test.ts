import { FarmEvents } from "@wgp-farm/queue";
import { afterEach, describe, expect, it } from "vitest";
import {
  type DeliveryAttempt,
  DeliveryLog,
  resolveWebhookTarget,
  sendAgain,
  TASK_WEBHOOK_SUBSCRIPTION,
  WebhookSubscriptions,
  WebhookTargetError,
  webhookQueueOf,
} from "../src/index.js";
import { makeToken, openTestApi, type TestApi, task } from "./support/test-api.js";
import { WebhookReceiver } from "./support/webhook-receiver.js";

let current: TestApi | undefined;
let receiver: WebhookReceiver | undefined;
afterEach(async () => {
  await current?.close();
  await receiver?.close();
  current = receiver = undefined;
});

/** Short backoff (50 ms doubling to 200 ms) for about a second, and loopback receivers allowed. */
const FAST = {
  allowPrivateTargets: true,
  webhookMinBackoffMs: 50,
  webhookMaxBackoffMs: 200,
  webhookRetryForMs: 1_000,
};

async function setUp(overrides = {}) {
  current = await openTestApi({ ...FAST, ...overrides });
  receiver = await WebhookReceiver.start();
  const { farm } = current;
  return {
    api: current,
    receiver,
    log: new FarmEvents(farm.redis, farm.keys),
    subscriptions: new WebhookSubscriptions(farm.redis, farm.keys),
    deliveries: new DeliveryLog(farm.redis, farm.keys),
  };
}

async function until<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const outcomes = (log: readonly DeliveryAttempt[]) => log.map((entry) => entry.outcome).reverse();

describe("webhooks", () => {
  it("delivers subscribed events signed (Standard Webhooks), with the event as the body", async () => {
    const { log, subscriptions, receiver } = await setUp();
    const subscription = await subscriptions.add(receiver.url, ["started", "completed"]);
    receiver.secret = subscription.secret;
    await log.record({ type: "queued", task_id: "w-1", model: "t2v" });
    await log.record({ type: "started", task_id: "w-1", model: "t2v", slot: "gpu0@h", host: "h" });
    await log.record({ type: "completed", task_id: "w-1", model: "t2v", data: { seed: 7 } });
    await until(() => receiver.received.length >= 2 || undefined, "two deliveries");
    const types = receiver.received.map((delivery) => delivery.body.type).sort();
    expect(types).toEqual(["completed", "started"]);
    expect(receiver.received.every((delivery) => delivery.verified)).toBe(true);
    expect(receiver.received[0]?.id).toMatch(/^\d+-\d+\.sub_/);
    expect(receiver.received.find((d) => d.body.type === "started")?.body).toMatchObject({
      slot: "gpu0@h",
      task_id: "w-1",
    });
    // The wrong secret does not verify.
    receiver.secret = (await subscriptions.add(receiver.url, ["queued"])).secret;
    await log.record({ type: "completed", task_id: "w-2", model: "t2v" });
    await until(() => receiver.received.length >= 3 || undefined, "third delivery");
    expect(receiver.received[2]?.verified).toBe(false);
  });

  it("retries a failing receiver with backoff until it answers 2xx; the delivery log shows each attempt", async () => {
    const { log, subscriptions, deliveries, receiver } = await setUp();
    const subscription = await subscriptions.add(receiver.url, ["completed"]);
    receiver.secret = subscription.secret;
    receiver.answer = (call) => (call <= 2 ? 503 : 204);
    await log.record({ type: "completed", task_id: "flaky", model: "t2v" });
    await until(
      async () => (await deliveries.list(subscription.id))[0]?.outcome === "delivered" || undefined,
      "delivery",
    );
    const attempts = await deliveries.list(subscription.id);
    expect(outcomes(attempts)).toEqual(["failed", "failed", "delivered"]);
    expect(attempts.at(-1)).toMatchObject({
      attempt: 1,
      http_status: 503,
      next_attempt_at: expect.any(String),
    });
    const times = attempts.map((entry) => Date.parse(entry.at)).reverse();
    // Exponential: the second wait is at least the first (50 ms, then 100 ms).
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(40);
    expect((times[2] ?? 0) - (times[1] ?? 0)).toBeGreaterThanOrEqual(90);
    expect(receiver.received.map((delivery) => delivery.id)).toEqual(Array(3).fill(attempts[0]?.delivery_id));
    expect(receiver.received.every((delivery) => delivery.verified)).toBe(true);
  });

  it("dead-letters a delivery that keeps failing, with its log; send-again delivers it later", async () => {
    const { api, log, subscriptions, deliveries, receiver } = await setUp();
    const subscription = await subscriptions.add(receiver.url, ["failed"]);
    receiver.secret = subscription.secret;
    receiver.answer = () => 500;
    await log.record({ type: "failed", task_id: "doomed", model: "t2v", data: { error: "OOM" } });
    const dead = await until(
      async () => (await deliveries.list(subscription.id)).find((entry) => entry.outcome === "dead"),
      "the dead letter",
    );
    const attempts = await deliveries.list(subscription.id);
    expect(
      outcomes(attempts)
        .slice(0, -1)
        .every((outcome) => outcome === "failed"),
    ).toBe(true);
    expect(attempts.length).toBeGreaterThanOrEqual(4);
    const queue = webhookQueueOf(api.farm);
    try {
      expect(await queue.getJobState(dead.delivery_id)).toBe("failed");
      receiver.answer = () => 200;
      const again = await sendAgain(queue, dead.delivery_id);
      expect(again).toMatch(/\.again-\d+$/);
      await until(
        async () => (await deliveries.list(subscription.id))[0]?.outcome === "delivered" || undefined,
        "resend",
      );
      expect(receiver.received.at(-1)).toMatchObject({
        id: again,
        verified: true,
        body: { task_id: "doomed" },
      });
      expect(await sendAgain(queue, "no-such-delivery")).toBeNull();
    } finally {
      await queue.close();
    }
  });

  it("refuses loopback and private targets at add time and at delivery time unless allowed", async () => {
    for (const url of [
      "http://127.0.0.1:9/x",
      "http://localhost/x",
      "http://10.1.2.3/",
      "http://[::1]/",
      "http://169.254.169.254/",
    ]) {
      await expect(resolveWebhookTarget(url, false)).rejects.toBeInstanceOf(WebhookTargetError);
    }
    await expect(resolveWebhookTarget("ftp://example.com/", true)).rejects.toThrow(/http/);
    expect((await resolveWebhookTarget("http://127.0.0.1:9/x", true)).address).toBe("127.0.0.1");
    const { api, log, subscriptions, deliveries, receiver } = await setUp({ allowPrivateTargets: false });
    const token = await makeToken(api, ["submit"]);
    const submitted = await api.call("/v1/tasks", {
      token,
      method: "POST",
      json: task("private-hook", { webhook: { url: receiver.url } }),
    });
    expect(submitted.status).toBe(422);
    expect(JSON.stringify(await submitted.json())).toContain("webhook.url");
    // Stored directly (as if added while allowed): the delivery itself refuses it.
    const subscription = await subscriptions.add(receiver.url, ["completed"]);
    await log.record({ type: "completed", task_id: "private", model: "t2v" });
    const [refused] = await until(async () => {
      const list = await deliveries.list(subscription.id);
      return list.length > 0 ? list : undefined;
    }, "the refusal");
    expect(refused).toMatchObject({ outcome: "dead", attempt: 1, error: expect.stringContaining("private") });
    expect(receiver.calls).toBe(0);
  });

  it("sends a task's own webhook (from its submit) the events it asked for, signed with the farm's task secret", async () => {
    const { api, subscriptions, deliveries, receiver } = await setUp();
    receiver.secret = await subscriptions.taskSecret();
    const token = await makeToken(api, ["submit", "read"]);
    const webhook = { url: receiver.url, events: ["queued"] };
    const submitted = await api.call("/v1/tasks", {
      token,
      method: "POST",
      json: task("hooked", { webhook }),
    });
    expect(submitted.status).toBe(201);
    const bad = await api.call("/v1/tasks", {
      token,
      method: "POST",
      json: task("bad-hook", { webhook: { url: "not a url", events: ["sometimes"] } }),
    });
    expect(bad.status).toBe(422);
    await until(() => receiver.received.length >= 1 || undefined, "the task's delivery");
    expect(receiver.received[0]).toMatchObject({
      verified: true,
      body: { type: "queued", task_id: "hooked" },
    });
    expect((await deliveries.list(TASK_WEBHOOK_SUBSCRIPTION))[0]).toMatchObject({
      outcome: "delivered",
      task_id: "hooked",
    });
  });
});
