import type { BucketResults } from "@wgp-farm/storage";
import type { Request, RequestHandler, Response } from "express";

/** Where the board's result view links the files of a result kept in a bucket. */
export const RESULT_FILES_PATH = "/result-files";

/** The dashboard's link to one file of a stored result (`output_dir` as the job's result names it). */
export function resultFileUrl(outputDir: string, name: string): string {
  return `${RESULT_FILES_PATH}?${new URLSearchParams({ dir: outputDir, name })}`;
}

function isPlainName(name: string): boolean {
  return name !== "" && !name.startsWith(".") && !name.includes("\\") && !name.includes("\0");
}

/**
 * GET /result-files?dir=s3://…&name=…: a redirect to a time-limited presigned link, for results kept
 * in the bucket the dashboard was given (--output-store); behind the dashboard's login like the rest.
 */
export function resultFileRoute(results: BucketResults, ttlMs: number): RequestHandler {
  return async (req: Request, res: Response) => {
    const dir = String(req.query.dir ?? "");
    const name = String(req.query.name ?? "");
    if (!results.holds(dir) || !isPlainName(name) || name.split("/").some((part) => part === "..")) {
      res.status(404).json({ error: "no such stored result file" });
      return;
    }
    const [link] = await results.links(dir, [name], ttlMs);
    res.redirect(302, link?.url ?? RESULT_FILES_PATH);
  };
}
