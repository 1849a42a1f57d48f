import type { NextFunction, Request, RequestHandler, Response } from "express";

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

export function isLoopbackAddress(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || /^127(\.\d{1,3}){3}$/.test(host) || host.endsWith(".localhost");
}

function hostnameOf(hostHeader: string): string {
  if (hostHeader.startsWith("[")) return hostHeader.slice(0, hostHeader.indexOf("]") + 1);
  return hostHeader.split(":")[0] ?? "";
}

/**
 * For a dashboard without credentials (loopback only): refuses requests whose Host header is not a
 * loopback name. Without this, a web page could point its own domain name at 127.0.0.1 (DNS
 * rebinding) and drive the open dashboard from the operator's browser.
 */
export function loopbackHostGuard(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (isLoopbackAddress(hostnameOf(req.headers.host ?? ""))) {
      next();
      return;
    }
    res.status(421).json({ error: "this dashboard answers on loopback addresses only" });
  };
}
