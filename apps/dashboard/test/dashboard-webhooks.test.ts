import {
  type DeliveryAttempt,
  type DeliveryJobData,
  DeliveryLog,
  deliveryIdOf,
  type FarmConnection,
  TASK_WEBHOOK_SUBSCRIPTION,
  WEBHOOK_QUEUE,
  type WebhookSubscription,
  webhookQueueOf,
} from "@wgp-farm/queue";
import { afterEach, describe, expect, it } from "vitest";
import { OPERATOR, openTestDashboard, type TestDashboard } from "./support/test-dashboard.js";

let open: TestDashboard | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

const SUBSCRIPTION: WebhookSubscription = {
  id: "sub_0123456789abcdef",
  url: "https://hooks.example/farm",
  events: ["completed", "failed"],
  secret: "whsec_c2VjcmV0LW5ldmVyLXNob3du",
  description: "render manager",
  created_at: "2026-12-01T10:00:00.000Z",
};

/**
 * A farm whose API dead-lettered one delivery after two attempts: the subscription record, the
 * delivery job left failed in the webhook queue, and the two attempts in the delivery log, written
 * as `wgp-farm api` writes them.
 */
async function deadLetteredDelivery(farm: FarmConnection): Promise<string> {
  await farm.redis.hset(farm.keys.webhookSubscriptions, SUBSCRIPTION.id, JSON.stringify(SUBSCRIPTION));
  const deliveryId = deliveryIdOf("1764756000000-0", SUBSCRIPTION.id);
  const queue = webhookQueueOf(farm);
  const data: DeliveryJobData = {
    subscription_id: SUBSCRIPTION.id,
    url: SUBSCRIPTION.url,
    event: {
      id: "1764756000000-0",
      type: "failed",
      task_id: "render-7",
      model: "t2v",
      at: "2026-12-03T10:00:00.000Z",
    } as DeliveryJobData["event"],
  };
  await queue.add("delivery", data, { jobId: deliveryId });
  await queue.close();
  const log = new DeliveryLog(farm.redis, farm.keys);
  const attempt = (n: number, outcome: DeliveryAttempt["outcome"]): DeliveryAttempt => ({
    delivery_id: deliveryId,
    event_id: "1764756000000-0",
    event_type: "failed",
    task_id: "render-7",
    url: SUBSCRIPTION.url,
    attempt: n,
    outcome,
    http_status: 500,
    error: "HTTP 500 <b>upstream</b>",
    ms: 12,
    at: `2026-12-03T10:00:0${n}.000Z`,
    next_attempt_at: null,
  });
  await log.record(SUBSCRIPTION.id, attempt(1, "failed"));
  await log.record(SUBSCRIPTION.id, attempt(2, "dead"));
  return deliveryId;
}

async function deliveryJobIds(farm: FarmConnection): Promise<string[]> {
  const queue = webhookQueueOf(farm);
  try {
    const jobs = await queue.getJobs(["waiting", "delayed", "prioritized", "failed", "completed"]);
    return jobs.map((job) => job.id as string).sort();
  } finally {
    await queue.close();
  }
}

describe("dashboard webhook view", () => {
  it("lists the subscriptions (never their secrets) and a subscription's delivery log, as a page and as JSON", async () => {
    open = await openTestDashboard();
    const deliveryId = await deadLetteredDelivery(open.farm);

    const listed = await fetch(`${open.base}/webhooks/api/subscriptions`, { headers: OPERATOR });
    expect(listed.status).toBe(200);
    const listedText = await listed.text();
    expect(listedText).not.toContain(SUBSCRIPTION.secret);
    const { subscriptions } = JSON.parse(listedText) as { subscriptions: { id: string; url: string }[] };
    expect(subscriptions.map((s) => s.id)).toEqual([SUBSCRIPTION.id, TASK_WEBHOOK_SUBSCRIPTION]);

    const log = await fetch(`${open.base}/webhooks/api/subscriptions/${SUBSCRIPTION.id}/deliveries`, {
      headers: OPERATOR,
    });
    const { deliveries } = (await log.json()) as { deliveries: DeliveryAttempt[] };
    expect(deliveries.map((d) => [d.delivery_id, d.attempt, d.outcome])).toEqual([
      [deliveryId, 2, "dead"],
      [deliveryId, 1, "failed"],
    ]);

    const page = await fetch(`${open.base}/webhooks?subscription=${SUBSCRIPTION.id}`, { headers: OPERATOR });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).not.toContain(SUBSCRIPTION.secret);
    expect(html).toContain("render manager");
    expect(html).toContain("HTTP 500 &#60;b&#62;upstream&#60;/b&#62;");
    // One button per delivery (on its newest attempt), not one per attempt.
    expect(html.match(/Send again/g)).toHaveLength(1);
    expect((await fetch(`${open.base}/webhooks`)).status).toBe(401);
  });

  it("sends a dead-lettered delivery again from the page's form, back to the log with its new id", async () => {
    open = await openTestDashboard();
    const deliveryId = await deadLetteredDelivery(open.farm);
    const before = await deliveryJobIds(open.farm);

    const sent = await fetch(
      `${open.base}/webhooks/api/deliveries/${deliveryId}/send-again?subscription=${SUBSCRIPTION.id}`,
      {
        method: "POST",
        headers: {
          ...OPERATOR,
          Accept: "text/html",
          "Sec-Fetch-Site": "same-origin",
          Origin: open.base,
          "Content-Type": "application/x-www-form-urlencoded",
        },
        redirect: "manual",
      },
    );
    expect(sent.status).toBe(303);
    const location = new URL(sent.headers.get("location") ?? "", open.base);
    expect(location.pathname).toBe("/webhooks");
    const again = location.searchParams.get("sent") ?? "";
    expect(again).toMatch(new RegExp(`^${deliveryId.replace(/[.]/g, "\\.")}\\.again-\\d+$`));
    expect(await deliveryJobIds(open.farm)).toEqual([...before, again].sort());
    const queue = webhookQueueOf(open.farm);
    const job = await queue.getJob(again);
    await queue.close();
    expect(job?.queueName).toBe(WEBHOOK_QUEUE);
    expect(job?.data).toMatchObject({ subscription_id: SUBSCRIPTION.id, event: { task_id: "render-7" } });
    const confirmed = await (await fetch(location, { headers: OPERATOR })).text();
    expect(confirmed).toContain(`Queued again as ${again}`);

    const byScript = await fetch(`${open.base}/webhooks/api/deliveries/${deliveryId}/send-again`, {
      method: "POST",
      headers: OPERATOR,
    });
    expect(byScript.status).toBe(202);
    expect(((await byScript.json()) as { delivery_id: string }).delivery_id).toMatch(/\.again-\d+$/);
    const unknown = await fetch(`${open.base}/webhooks/api/deliveries/nope/send-again`, {
      method: "POST",
      headers: OPERATOR,
    });
    expect(unknown.status).toBe(404);
  });

  it("refuses send-again when read-only (no button either) and from another site", async () => {
    open = await openTestDashboard({ readOnly: true });
    const deliveryId = await deadLetteredDelivery(open.farm);
    const before = await deliveryJobIds(open.farm);
    const html = await (
      await fetch(`${open.base}/webhooks?subscription=${SUBSCRIPTION.id}`, { headers: OPERATOR })
    ).text();
    expect(html).toContain(deliveryId);
    expect(html).not.toContain("Send again");
    const readOnly = await fetch(`${open.base}/webhooks/api/deliveries/${deliveryId}/send-again`, {
      method: "POST",
      headers: OPERATOR,
    });
    expect(readOnly.status).toBe(405);
    await open.close();

    open = await openTestDashboard();
    await deadLetteredDelivery(open.farm);
    const crossSite = await fetch(`${open.base}/webhooks/api/deliveries/${deliveryId}/send-again`, {
      method: "POST",
      headers: { ...OPERATOR, "Sec-Fetch-Site": "cross-site" },
    });
    expect(crossSite.status).toBe(403);
    expect(await deliveryJobIds(open.farm)).toEqual(before);
  });
});
