import { formatDuration } from "@wgp-farm/queue";
import { resultFileUrl } from "../result-files/result-file-route.js";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The progress object (phase, step/total, percent, ETA, slot) as the job page shows it. Bull Board
 * draws its progress ring from a `progress` number inside an object, so the percent goes there too.
 */
export function formatProgress(progress: unknown): unknown {
  if (!isRecord(progress)) return progress;
  const { phase, step, total, percent, eta_s: etaS, slot } = progress;
  return {
    progress: typeof percent === "number" ? percent : 0,
    phase,
    step: typeof step === "number" ? (typeof total === "number" ? `${step}/${total}` : step) : null,
    percent,
    eta: typeof etaS === "number" ? formatDuration(etaS) : null,
    eta_s: etaS,
    slot,
  };
}

/** The result manifest, with its timings also in words (`model_load: "1m 05s"`). */
export function formatReturnValue(result: unknown): unknown {
  if (!isRecord(result) || !isRecord(result.timings)) return result;
  const readable: Record<string, string> = {};
  for (const [key, value] of Object.entries(result.timings)) {
    if (key.endsWith("_s") && typeof value === "number") readable[key.slice(0, -2)] = formatDuration(value);
  }
  return { ...result, ...withFileLinks(result), timings_readable: readable };
}

/** A result kept in a bucket: each file with a link (a redirect to a presigned URL). */
function withFileLinks(result: Record<string, unknown>): { files?: unknown[] } {
  const { output_dir: outputDir, files } = result;
  if (typeof outputDir !== "string" || !outputDir.startsWith("s3://") || !Array.isArray(files)) return {};
  return {
    files: files.map((file) =>
      isRecord(file) && typeof file.name === "string"
        ? { ...file, url: resultFileUrl(outputDir, file.name) }
        : file,
    ),
  };
}
