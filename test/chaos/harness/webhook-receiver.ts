/**
 * A webhook receiver for the scenarios: checks every delivery's Standard Webhooks signature with the
 * subscription's secret, answers 500 on a share of calls (a flaky target), and counts per delivery id
 * what it accepted. Then the check every webhook scenario ends with: each delivery arrived at least
 * once, or was dead-lettered with a 'dead' entry in its log.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { DeliveryLog, type FarmConnection, webhookQueueOf } from "@wgp-farm/queue";
import type { Random } from "./random.ts";

export class WebhookReceiver {
  /** Accepted deliveries (204), by webhook-id, with how often each arrived. */
  readonly received = new Map<string, number>();
  badSignatures = 0;
  /** The subscription's signing secret (whsec_…), set once the subscription exists. */
  secret = "";
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(failRate: number, random: Random): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const self = receiver as WebhookReceiver;
        const id = String(req.headers["webhook-id"]);
        const signed = `${id}.${req.headers["webhook-timestamp"]}.${Buffer.concat(chunks).toString("utf8")}`;
        const key = Buffer.from(self.secret.slice("whsec_".length), "base64");
        const expected = Buffer.from(`v1,${createHmac("sha256", key).update(signed).digest("base64")}`);
        const given = Buffer.from(String(req.headers["webhook-signature"]));
        if (given.length !== expected.length || !timingSafeEqual(given, expected)) self.badSignatures += 1;
        if (random.chance(failRate)) {
          res.statusCode = 500;
        } else {
          self.received.set(id, (self.received.get(id) ?? 0) + 1);
          res.statusCode = 204;
        }
        res.end();
      });
    });
    receiver = new WebhookReceiver(server);
    const listening = Promise.withResolvers<void>();
    server.listen(0, "127.0.0.1", () => listening.resolve());
    await listening.promise;
    return receiver;
  }

  url(path = "/h"): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}${path}`;
  }

  /** Deliveries that arrived more than once (allowed: at least once). */
  get redelivered(): number {
    return [...this.received.values()].filter((count) => count > 1).length;
  }

  close(): void {
    this.#server.closeAllConnections();
    this.#server.close();
  }
}

export interface DeliveryVerdict {
  /** Neither delivered nor dead-lettered when the wait ended. */
  open: string[];
  /** Dead-lettered (the delivery job failed for good). */
  dead: string[];
  /** Dead-lettered without a 'dead' entry in the subscription's delivery log. */
  deadUnlogged: string[];
}

/**
 * Waits up to `settleMs` until each delivery (ids `<event id>.<subscription id>`) of `subscriptionId`
 * was received by `isDelivered` or dead-lettered, then checks the dead ones' log entries.
 */
export async function settleDeliveries(
  farm: FarmConnection,
  subscriptionId: string,
  deliveryIds: readonly string[],
  isDelivered: (id: string) => boolean,
  settleMs: number,
): Promise<DeliveryVerdict> {
  const queue = webhookQueueOf(farm);
  let open: string[] = [];
  const dead: string[] = [];
  const deadline = Date.now() + settleMs;
  try {
    let pending = [...deliveryIds];
    do {
      open = [];
      for (const id of pending) {
        if (isDelivered(id)) continue;
        if ((await queue.getJobState(id)) === "failed") dead.push(id);
        else open.push(id);
      }
      pending = open;
      if (open.length > 0) await sleep(500);
    } while (open.length > 0 && Date.now() < deadline);
  } finally {
    await queue.close();
  }
  const logged = new Set(
    (await new DeliveryLog(farm.redis, farm.keys).list(subscriptionId))
      .filter((entry) => entry.outcome === "dead")
      .map((entry) => entry.delivery_id),
  );
  return { open, dead, deadUnlogged: dead.filter((id) => !logged.has(id)) };
}
