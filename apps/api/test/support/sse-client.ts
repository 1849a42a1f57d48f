/** One server-sent event as a client parses it (comments kept apart: heartbeats). */
export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

/**
 * A real SSE client over fetch: parses the stream as it arrives, and lets a test wait for the next
 * messages. `close` disconnects (the server sees the socket go).
 */
export class SseClient {
  readonly messages: SseMessage[] = [];
  comments = 0;
  readonly status: number;
  readonly #controller: AbortController;
  readonly #done: Promise<void>;
  #waiters: (() => void)[] = [];

  private constructor(response: Response, controller: AbortController) {
    this.status = response.status;
    this.#controller = controller;
    this.#done = this.#read(response).catch(() => undefined);
  }

  static async open(url: string, token: string, lastEventId?: string): Promise<SseClient> {
    const controller = new AbortController();
    const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: "text/event-stream" };
    if (lastEventId) headers["Last-Event-ID"] = lastEventId;
    const response = await fetch(url, { headers, signal: controller.signal });
    return new SseClient(response, controller);
  }

  /** Waits until `count` messages (heartbeats aside) have arrived; returns them. */
  async take(count: number, timeoutMs = 10_000): Promise<SseMessage[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      if (Date.now() > deadline) throw new Error(`got ${this.messages.length} of ${count} events`);
      const arrived = Promise.withResolvers<void>();
      this.#waiters.push(arrived.resolve);
      await Promise.race([arrived.promise, new Promise((resolve) => setTimeout(resolve, 100))]);
    }
    return this.messages.slice(0, count);
  }

  async close(): Promise<void> {
    this.#controller.abort();
    await this.#done;
  }

  async #read(response: Response): Promise<void> {
    if (!response.body) return;
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        this.#parse(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf("\n\n");
      }
      for (const wake of this.#waiters.splice(0)) wake();
    }
  }

  #parse(block: string): void {
    const message: SseMessage = { id: null, event: "message", data: "" };
    let fields = 0;
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) {
        this.comments += 1;
        continue;
      }
      const colon = line.indexOf(":");
      const name = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (name === "id") message.id = value;
      else if (name === "event") message.event = value;
      else if (name === "data") message.data += message.data ? `\n${value}` : value;
      else continue;
      fields += 1;
    }
    if (fields > 0) this.messages.push(message);
  }
}
