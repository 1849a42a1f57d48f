/** Raw HTTP for attacking the dashboard: any method, path bytes and headers, and malformed requests on a socket. */
import http from "node:http";
import net from "node:net";

export interface AttackRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface AttackResponse {
  status: number;
  /** Set when the request could not be made or the connection broke. */
  error?: string;
  ms: number;
  location?: string;
}

export function send(base: string, request: AttackRequest): Promise<AttackResponse> {
  const url = new URL(base);
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (response: Omit<AttackResponse, "ms">) => {
      if (settled) return;
      settled = true;
      resolve({ ...response, ms: performance.now() - started });
    };
    let req: http.ClientRequest;
    try {
      req = http.request(
        {
          host: "127.0.0.1",
          port: Number(url.port),
          method: request.method,
          path: request.path,
          headers: {
            ...request.headers,
            ...(request.body ? { "content-length": String(request.body.length) } : {}),
          },
          timeout: 30_000,
          agent: false,
        },
        (res) => {
          res.resume();
          res.on("end", () => done({ status: res.statusCode ?? 0, location: res.headers.location }));
          res.on("error", (error) => done({ status: res.statusCode ?? 0, error: error.message }));
        },
      );
    } catch (error) {
      // The client refuses to send it (e.g. a control character in the path): nothing reached the server.
      done({ status: -1, error: `not sendable: ${(error as Error).message}` });
      return;
    }
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (error) => done({ status: 0, error: error.message }));
    req.end(request.body);
  });
}

/** Writes raw bytes on a fresh connection; resolves with the status line the server answered (or none). */
export function sendRaw(base: string, bytes: Buffer): Promise<AttackResponse> {
  const url = new URL(base);
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect(Number(url.port), "127.0.0.1");
    let answer = "";
    const finish = (error?: string) => {
      socket.destroy();
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 0);
      resolve({ status, error, ms: performance.now() - started });
    };
    socket.setTimeout(10_000, () => finish("timeout"));
    socket.on("data", (chunk) => {
      answer += chunk.toString("latin1");
    });
    socket.on("end", () => finish());
    socket.on("error", (error) => finish(error.message));
    socket.on("connect", () => socket.end(bytes));
  });
}
