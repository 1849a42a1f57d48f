import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** How the server answers for one path. */
export interface ServedMedia {
  body: Buffer;
  /** An answer other than 200 (404, 403, 500) for every request. */
  status?: number;
  /** Requests answered 503 before it is served (a store failing for a while). */
  unavailable?: number;
  /** Bytes sent before the connection is cut, for this many requests (a network failure). */
  cutAfter?: { bytes: number; times: number };
  /** Milliseconds between chunks (a slow server, so that concurrent readers overlap). */
  chunkDelayMs?: number;
  /** Content-MD5 to announce (a wrong one makes a corrupted transfer). */
  contentMd5?: string;
}

export interface MediaServer {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  /** Every request, as `METHOD /path?query`. */
  requests: string[];
  /** Requests for one path (any method, any query). */
  count(pathname: string, method?: string): number;
  serve(pathname: string, media: ServedMedia): void;
  close(): Promise<void>;
}

/**
 * A real HTTP server on loopback serving media files, for tests of downloads and URL checks: it
 * counts requests, and can answer an error, cut a transfer short or go slowly.
 */
export async function startMediaServer(): Promise<MediaServer> {
  const served = new Map<string, ServedMedia>();
  const requests: string[] = [];
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    requests.push(`${request.method} ${request.url}`);
    const pathname = new URL(request.url ?? "/", "http://x").pathname;
    const media = served.get(pathname);
    if (!media || media.status) {
      response.writeHead(media?.status ?? 404).end();
      return;
    }
    if (media.unavailable) {
      media.unavailable--;
      response.writeHead(503).end();
      return;
    }
    const headers: Record<string, string> = { "content-length": String(media.body.length) };
    if (media.contentMd5) headers["content-md5"] = media.contentMd5;
    response.writeHead(200, headers);
    if (request.method === "HEAD") {
      response.end();
      return;
    }
    const cut = media.cutAfter && media.cutAfter.times > 0 ? media.cutAfter : undefined;
    if (cut) cut.times--;
    const limit = cut ? cut.bytes : media.body.length;
    const chunk = 64 * 1024;
    for (let sent = 0; sent < limit; sent += chunk) {
      if (media.chunkDelayMs) await sleep(media.chunkDelayMs);
      if (!response.write(media.body.subarray(sent, Math.min(sent + chunk, limit)))) {
        await new Promise((resolve) => response.once("drain", resolve));
      }
    }
    if (cut) response.destroy();
    else response.end();
  };
  const listener = (request: IncomingMessage, response: ServerResponse) => void handle(request, response);
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    count: (pathname, method) =>
      requests.filter((line) => {
        const [verb, target = ""] = line.split(" ");
        return target.split("?")[0] === pathname && (method === undefined || verb === method);
      }).length,
    serve: (pathname, media) => served.set(pathname, media),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
