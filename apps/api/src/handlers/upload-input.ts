import type { Request, RequestHandler, Response } from "express";
import type { HandlerContext } from "./handler-context.js";

/**
 * POST /v1/inputs: the request body is the file, streamed to the shared disk (never held in
 * memory), hashed on the way. 201 with the input id; 200 when the same bytes were there already.
 */
export function uploadInput(context: Pick<HandlerContext, "inputs">): RequestHandler {
  return async (req: Request, res: Response) => {
    const contentType = (req.get("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
    const length = req.get("Content-Length");
    const stored = await context.inputs.save(
      req,
      contentType,
      length === undefined ? undefined : Number(length),
    );
    res.status(stored.created ? 201 : 200).json(stored);
  };
}
