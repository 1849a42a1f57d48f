import { DeliveryLog, WebhookSubscriptions, webhookQueueOf } from "@wgp-farm/api";
import { FarmConnection } from "@wgp-farm/queue";
import { uniquePrefix } from "@wgp-farm/testing";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { runCli } from "./run-cli.js";

let prefix: string;
let farm: FarmConnection;
const farmArgs = () => ["--redis-url", inject("redisUrl"), "--prefix", prefix];

beforeEach(async () => {
  prefix = uniquePrefix("cli-webhook");
  farm = await FarmConnection.open(inject("redisUrl"), prefix);
});
afterEach(async () => {
  await farm.close();
});

describe("wgp-farm webhook", () => {
  it("adds, lists and removes subscriptions; refuses a private target unless allowed", async () => {
    const refused = await runCli(["webhook", "add", "http://127.0.0.1:9/hook", ...farmArgs()]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--allow-private-targets");
    const added = await runCli([
      "webhook",
      "add",
      "http://127.0.0.1:9/hook",
      "--allow-private-targets",
      "--event",
      "completed",
      "failed",
      "--json",
      ...farmArgs(),
    ]);
    expect(added.code).toBe(0);
    const made = JSON.parse(added.stdout);
    expect(made).toMatchObject({ id: expect.stringMatching(/^sub_/), events: ["completed", "failed"] });
    expect(made.secret).toMatch(/^whsec_/);
    const listed = await runCli(["webhook", "ls", "--json", ...farmArgs()]);
    const [shown] = JSON.parse(listed.stdout);
    expect(shown).toMatchObject({ id: made.id, url: "http://127.0.0.1:9/hook" });
    expect(shown.secret).toBeUndefined();
    expect((await runCli(["webhook", "rm", made.id, ...farmArgs()])).code).toBe(0);
    expect((await runCli(["webhook", "rm", made.id, ...farmArgs()])).code).toBe(1);
    expect(await new WebhookSubscriptions(farm.redis, farm.keys).list()).toEqual([]);
    const secret = await runCli(["webhook", "task-secret", ...farmArgs()]);
    expect(secret.stdout.trim()).toBe(await new WebhookSubscriptions(farm.redis, farm.keys).taskSecret());
    expect(secret.stdout).toMatch(/^whsec_/);
  });

  it("shows a subscription's delivery log and sends a delivery again", async () => {
    const subscription = await new WebhookSubscriptions(farm.redis, farm.keys).add(
      "https://example.com/h",
      undefined,
    );
    const event = {
      id: "1700000000000-0",
      type: "completed" as const,
      task_id: "t-1",
      model: "t2v",
      state: "completed" as const,
      at: new Date().toISOString(),
      slot: null,
      host: null,
      data: {},
    };
    const deliveryId = `${event.id}.${subscription.id}`;
    const queue = webhookQueueOf(farm);
    try {
      await queue.add(
        "delivery",
        { subscription_id: subscription.id, url: subscription.url, event },
        { jobId: deliveryId },
      );
      await new DeliveryLog(farm.redis, farm.keys).record(subscription.id, {
        delivery_id: deliveryId,
        event_id: event.id,
        event_type: "completed",
        task_id: "t-1",
        url: subscription.url,
        attempt: 9,
        outcome: "dead",
        http_status: 500,
        error: "the receiver answered 500",
        ms: 12,
        at: new Date().toISOString(),
        next_attempt_at: null,
      });
      const log = await runCli(["webhook", "ls", "--deliveries", subscription.id, ...farmArgs()]);
      expect(log.stdout).toContain(deliveryId);
      expect(log.stdout).toContain("dead");
      const again = await runCli(["webhook", "send-again", deliveryId, "--json", ...farmArgs()]);
      expect(again.code).toBe(0);
      const { delivery_id } = JSON.parse(again.stdout);
      expect(await queue.getJobState(delivery_id)).toBe("waiting");
      expect((await runCli(["webhook", "send-again", "nope", ...farmArgs()])).code).toBe(1);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
