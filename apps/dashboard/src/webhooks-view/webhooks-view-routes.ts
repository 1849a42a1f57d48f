import {
  DeliveryLog,
  type FarmConnection,
  readWebhookSubscriptions,
  sendAgain,
  TASK_WEBHOOK_SUBSCRIPTION,
  webhookQueueOf,
} from "@wgp-farm/queue";
import { type Request, type Response, Router } from "express";
import { type ShownSubscription, webhooksPage } from "./webhooks-page.js";

export interface WebhooksViewOptions {
  farm: FarmConnection;
  readOnly: boolean;
}

/** The tasks' own webhooks share one delivery log, listed as a subscription of its own. */
const TASK_WEBHOOKS: ShownSubscription = {
  id: TASK_WEBHOOK_SUBSCRIPTION,
  url: "(each task's own webhook)",
  events: [],
  description: "webhooks named in the tasks",
};

async function shownSubscriptions(farm: FarmConnection): Promise<ShownSubscription[]> {
  const stored = await readWebhookSubscriptions(farm.redis, farm.keys);
  return [
    ...stored.map(({ id, url, events, description }) => ({ id, url, events, description })),
    TASK_WEBHOOKS,
  ];
}

function queryString(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/**
 * The webhook view: the farm-wide subscriptions and each one's delivery log (what `wgp-farm webhook
 * ls --deliveries` shows), as a page and as JSON, and "send again" of a delivery. Sending again is a
 * write: the read-only guard and the same-origin guard stand before it like before every other.
 */
export function webhooksViewRoutes({ farm, readOnly }: WebhooksViewOptions): Router {
  const router = Router();
  const deliveries = new DeliveryLog(farm.redis, farm.keys);

  router.get("/webhooks", async (req: Request, res: Response) => {
    const subscriptions = await shownSubscriptions(farm);
    const id = queryString(req, "subscription");
    const selected = subscriptions.some((subscription) => subscription.id === id)
      ? { id: id as string, attempts: await deliveries.list(id as string) }
      : undefined;
    res
      .set("Cache-Control", "no-store")
      .type("html")
      .send(webhooksPage({ subscriptions, selected, readOnly, sent: queryString(req, "sent") }));
  });

  router.get("/webhooks/api/subscriptions", async (_req: Request, res: Response) => {
    res
      .set("Cache-Control", "no-store")
      .json({ subscriptions: await shownSubscriptions(farm), read_only: readOnly });
  });

  router.get("/webhooks/api/subscriptions/:id/deliveries", async (req: Request, res: Response) => {
    res.set("Cache-Control", "no-store").json({ deliveries: await deliveries.list(String(req.params.id)) });
  });

  router.post("/webhooks/api/deliveries/:deliveryId/send-again", async (req: Request, res: Response) => {
    const deliveryId = String(req.params.deliveryId);
    const queue = webhookQueueOf(farm);
    let queuedAs: string | null;
    try {
      queuedAs = await sendAgain(queue, deliveryId);
    } finally {
      await queue.close();
    }
    if (queuedAs === null) {
      res.status(404).json({ error: `unknown delivery '${deliveryId}' (it may have aged out of the queue)` });
      return;
    }
    // A form of the page: back to the log it was sent from. A script: the new delivery's id.
    const subscription = queryString(req, "subscription");
    if (req.accepts(["json", "html"]) === "html" && subscription !== undefined) {
      const back = `/webhooks?subscription=${encodeURIComponent(subscription)}&sent=${encodeURIComponent(queuedAs)}`;
      res.redirect(303, back);
      return;
    }
    res.status(202).json({ delivery_id: queuedAs });
  });

  return router;
}
