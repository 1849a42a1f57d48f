import express, { type NextFunction, type Request, type RequestHandler, type Response } from "express";
import { ApiError } from "../errors.js";

/** Refuses a body that is not JSON before reading it, then parses it within the size limit. */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const requireJson: RequestHandler = (req: Request, _res: Response, next: NextFunction) => {
    if (!req.is("application/json")) {
      throw new ApiError(
        415,
        "unsupported_media_type",
        `send the body as JSON with Content-Type: application/json (got ${req.get("Content-Type") ?? "none"})`,
      );
    }
    next();
  };
  return [requireJson, express.json({ limit: limitBytes, strict: true, type: "application/json" })];
}

interface BodyParserError {
  type?: string;
  status?: number;
  message?: string;
  limit?: number;
}

/** body-parser's failures, worded for the client in the one error shape. */
export function apiErrorOfBodyParser(error: unknown): ApiError | undefined {
  const { type, message, limit } = (error ?? {}) as BodyParserError;
  switch (type) {
    case "entity.parse.failed":
      return new ApiError(
        400,
        "invalid_json",
        `the body is not valid JSON (${message}); send one JSON object`,
      );
    case "entity.too.large":
      return new ApiError(
        413,
        "body_too_large",
        `the body is over ${limit} bytes; send fewer tasks per request`,
      );
    case "encoding.unsupported":
    case "charset.unsupported":
      return new ApiError(415, "unsupported_charset", "send the body as UTF-8 JSON");
    case "request.aborted":
      return new ApiError(400, "request_aborted", "the client stopped sending the body");
    case "request.size.invalid":
      return new ApiError(400, "invalid_length", "the body's length is not its Content-Length");
    default:
      return undefined;
  }
}
