import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import type { ResolvedTarget } from "./private-targets.js";

export interface PostOutcome {
  status: number;
}

/**
 * POSTs a JSON body to a resolved target, connecting to the address that was checked (the TLS name
 * and Host header stay the URL's). Resolves with the status once the response has been read (its
 * body is discarded); rejects on a network error or after `timeoutMs`.
 */
export function postJson(
  target: ResolvedTarget,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<PostOutcome> {
  const { url, address, family } = target;
  const pinned: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  const done = Promise.withResolvers<PostOutcome>();
  const req = request(
    url,
    {
      method: "POST",
      lookup: pinned,
      headers: {
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(body)),
        "user-agent": "wgp-farm-webhooks",
        ...headers,
      },
      signal: AbortSignal.timeout(timeoutMs),
    },
    (res) => {
      res.resume();
      res.on("end", () => done.resolve({ status: res.statusCode ?? 0 }));
      res.on("error", done.reject);
    },
  );
  req.on("error", done.reject);
  req.end(body);
  return done.promise;
}
