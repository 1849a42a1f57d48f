import type { Request } from "express";

/** A page a person navigates to (so a login redirect helps), rather than an API call. */
export function isPageNavigation(req: Request): boolean {
  return (req.method === "GET" || req.method === "HEAD") && (req.headers.accept ?? "").includes("text/html");
}

/**
 * Whether the request comes from a browser (which sends Fetch Metadata). A basic-auth challenge goes
 * only to other clients: in a browser it would pop up a password dialog over the login page.
 */
export function isFromBrowser(req: Request): boolean {
  return req.headers["sec-fetch-site"] !== undefined || req.headers["sec-fetch-mode"] !== undefined;
}

/** The client address the login throttle counts against. */
export function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? "unknown";
}
