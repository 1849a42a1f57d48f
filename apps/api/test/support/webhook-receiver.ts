import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedDelivery {
  id: string;
  timestamp: number;
  body: Record<string, unknown>;
  /** Whether the signature and the timestamp checked out (the receiver's own check, not the farm's code). */
  verified: boolean;
}

/** Standard Webhooks verification, written out as a receiver would: HMAC-SHA256 of "id.timestamp.body". */
function verify(secret: string, req: IncomingMessage, raw: string): boolean {
  const id = String(req.headers["webhook-id"] ?? "");
  const timestamp = String(req.headers["webhook-timestamp"] ?? "");
  const signatures = String(req.headers["webhook-signature"] ?? "").split(" ");
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = Buffer.from(
    `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${raw}`).digest("base64")}`,
  );
  return signatures.some(
    (given) => given.length === expected.length && timingSafeEqual(Buffer.from(given), expected),
  );
}

/**
 * A real HTTP webhook receiver: checks each delivery's signature and timestamp, answers with what
 * `answer` says (a status per call: fail N times, then succeed), and keeps what it got.
 */
export class WebhookReceiver {
  readonly received: ReceivedDelivery[] = [];
  calls = 0;
  secret = "";
  answer: (call: number) => number = () => 200;
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<WebhookReceiver> {
    const server = createServer();
    const receiver = new WebhookReceiver(server);
    server.on("request", (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        receiver.calls += 1;
        const raw = Buffer.concat(chunks).toString("utf8");
        receiver.received.push({
          id: String(req.headers["webhook-id"]),
          timestamp: Number(req.headers["webhook-timestamp"]),
          body: JSON.parse(raw),
          verified: verify(receiver.secret, req, raw),
        });
        res.statusCode = receiver.answer(receiver.calls);
        res.end();
      });
    });
    const listening = Promise.withResolvers<void>();
    server.listen(0, "127.0.0.1", () => listening.resolve());
    await listening.promise;
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
