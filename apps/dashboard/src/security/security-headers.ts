import type { NextFunction, Request, RequestHandler, Response } from "express";

/**
 * Content Security Policy for Bull Board's UI and our pages. Bull Board's bundle runs from 'self';
 * its config is a JSON script block (not executed), and React sets inline style attributes, hence
 * 'unsafe-inline' for styles only. Its page also asks for Google Fonts: left blocked on purpose
 * (an operator's dashboard makes no third-party requests); the UI falls back to system fonts.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

export function securityHeaders(): RequestHandler {
  return (_req: Request, res: Response, next: NextFunction) => {
    res.set({
      "Content-Security-Policy": CONTENT_SECURITY_POLICY,
      "X-Frame-Options": "DENY",
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Resource-Policy": "same-origin",
      "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    });
    next();
  };
}
