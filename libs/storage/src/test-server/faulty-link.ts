import net from "node:net";

/**
 * A loopback TCP relay in front of a server that a test can break on purpose: flip one byte of what
 * clients send (a part damaged in transit), or cut every connection once some bytes have passed (the
 * network to the store lost mid-upload) and refuse new ones until `restore`.
 */
export class FaultyLink {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #cut = false;
  /** Client bytes still to pass before the armed fault strikes. */
  #fault: { kind: "corrupt" | "cut"; remaining: number } | undefined;
  /** Bytes that went from clients to the server. */
  sentBytes = 0;
  corrupted = 0;

  private constructor(server: net.Server) {
    this.#server = server;
  }

  static async open(targetPort: number): Promise<FaultyLink> {
    const server = net.createServer();
    const link = new FaultyLink(server);
    server.on("connection", (client) => link.#relay(client, targetPort));
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
    await promise;
    return link;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Flips the byte `afterBytes` client bytes from now. */
  corruptAfter(afterBytes: number): void {
    this.#fault = { kind: "corrupt", remaining: afterBytes };
  }

  /** Cuts every connection once `afterBytes` more client bytes have passed (0: now). */
  cutAfter(afterBytes: number): void {
    if (afterBytes <= 0) this.#cutNow();
    else this.#fault = { kind: "cut", remaining: afterBytes };
  }

  restore(): void {
    this.#cut = false;
    this.#fault = undefined;
  }

  get isCut(): boolean {
    return this.#cut;
  }

  async close(): Promise<void> {
    this.#cutNow();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#server.close(() => resolve());
    await promise;
  }

  #cutNow(): void {
    this.#cut = true;
    this.#fault = undefined;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  #relay(client: net.Socket, targetPort: number): void {
    if (this.#cut) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, "127.0.0.1");
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    upstream.pipe(client);
    client.on("data", (chunk: Buffer) => {
      if (this.#cut) return;
      this.sentBytes += chunk.length;
      const fault = this.#fault;
      if (fault && fault.remaining < chunk.length) {
        this.#fault = undefined;
        if (fault.kind === "cut") {
          upstream.write(chunk.subarray(0, fault.remaining));
          this.#cutNow();
          return;
        }
        chunk[fault.remaining] = (chunk[fault.remaining] ?? 0) ^ 0xff;
        this.corrupted += 1;
      } else if (fault) {
        fault.remaining -= chunk.length;
      }
      upstream.write(chunk);
    });
  }
}
