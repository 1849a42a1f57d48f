import { readFileSync } from "node:fs";
import type { Request, RequestHandler, Response } from "express";

/** GET /v1/openapi.json: the OpenAPI 3.1 document beside this package's package.json. */
export function openApiRoute(): RequestHandler {
  const document = readFileSync(new URL("../../openapi.json", import.meta.url), "utf8");
  return (_req: Request, res: Response) => {
    res.type("application/json").send(document);
  };
}
