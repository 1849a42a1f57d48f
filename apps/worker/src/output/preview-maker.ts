import { mkdir, open, rmdir, stat } from "node:fs/promises";
import path from "node:path";
import { bestEffort, type Logger } from "@wgp-farm/config";
import { execa } from "execa";
import { mediaTypeOf } from "./media-type.js";
import type { PublishedFile } from "./output-publisher.js";

/** Where previews go inside a result's folder. */
export const PREVIEWS_DIR = "previews";

/** poster: a still of a video; animated: a short low-resolution loop of it; thumbnail: a small image. */
export type PreviewKind = "poster" | "animated" | "thumbnail";

export interface Preview {
  kind: PreviewKind;
  /** Relative to the result's folder, like the manifest's files. */
  name: string;
  /** The result file it shows. */
  source: string;
  size: number;
}

export interface PreviewReport {
  previews: Preview[];
  /** One line per preview that could not be made: a note in the manifest, never a failed job. */
  warnings: string[];
}

export interface PreviewOptions {
  /** The ffmpeg to run (default `ffmpeg` on PATH). */
  ffmpeg?: string;
  /** Longest side of previews, in pixels. */
  maxSide?: number;
  /** Length of the animated preview, in seconds. */
  animatedSeconds?: number;
  /** Frames per second of the animated preview. */
  animatedFps?: number;
  /** Longest a single ffmpeg run may take. */
  timeoutMs?: number;
  logger?: Logger;
}

const DEFAULTS = { ffmpeg: "ffmpeg", maxSide: 320, animatedSeconds: 3, animatedFps: 8, timeoutMs: 60_000 };

/** Fits the picture in a `side`×`side` box, even dimensions, never upscaled. */
function scaleFilter(side: number): string {
  return `scale='min(${side},iw)':'min(${side},ih)':force_original_aspect_ratio=decrease:force_divisible_by=2`;
}

interface PreviewPlan {
  kind: PreviewKind;
  name: string;
  args: string[];
}

function plansFor(file: PublishedFile, options: typeof DEFAULTS): PreviewPlan[] {
  const stem = file.name.replace(/[^A-Za-z0-9._-]+/g, "_");
  const at = (suffix: string) => path.posix.join(PREVIEWS_DIR, `${stem}.${suffix}`);
  const scale = scaleFilter(options.maxSide);
  const kind = mediaTypeOf(file.name);
  if (kind === "image") {
    return [
      { kind: "thumbnail", name: at("thumb.jpg"), args: ["-frames:v", "1", "-vf", scale, "-q:v", "4"] },
    ];
  }
  if (kind !== "video") return [];
  return [
    // The most representative of the first frames, not the first one (often black in a fade-in).
    {
      kind: "poster",
      name: at("poster.jpg"),
      args: ["-frames:v", "1", "-vf", `thumbnail=16,${scale}`, "-q:v", "4"],
    },
    {
      kind: "animated",
      name: at("preview.webp"),
      args: [
        "-t",
        String(options.animatedSeconds),
        "-an",
        "-vf",
        `fps=${options.animatedFps},${scale}`,
        "-c:v",
        "libwebp_anim",
        "-loop",
        "0",
        "-quality",
        "50",
        "-compression_level",
        "3",
      ],
    },
  ];
}

/**
 * Makes the previews of a staged result (a poster frame and a short animated loop of each video, a
 * thumbnail of each image) in its `previews/` folder, so that they are published with it wherever
 * the result is stored. Never throws: what could not be made comes back as a warning.
 */
export async function makePreviews(
  filesDir: string,
  files: readonly PublishedFile[],
  options: PreviewOptions = {},
): Promise<PreviewReport> {
  const settings = { ...DEFAULTS, ...withoutUndefined(options) };
  const report: PreviewReport = { previews: [], warnings: [] };
  const media: PublishedFile[] = [];
  for (const file of files) {
    const visual = ["video", "image"].includes(mediaTypeOf(file.name));
    if (visual && (await isTextFile(path.join(filesDir, file.name)))) {
      report.warnings.push(
        `preview: ${file.name} is text, not media (a dry-run placeholder), so it has none`,
      );
    } else media.push(file);
  }
  const plans = media.flatMap((file) => plansFor(file, settings).map((plan) => ({ file, plan })));
  if (plans.length === 0) return report;
  const previewsDir = path.join(filesDir, PREVIEWS_DIR);
  await mkdir(previewsDir, { recursive: true });
  for (const { file, plan } of plans) {
    const output = path.join(filesDir, plan.name);
    try {
      await execa(
        settings.ffmpeg,
        ["-nostdin", "-v", "error", "-y", "-i", path.join(filesDir, file.name), ...plan.args, output],
        { timeout: settings.timeoutMs, stdin: "ignore" },
      );
      const { size } = await stat(output);
      report.previews.push({ kind: plan.kind, name: plan.name, source: file.name, size });
    } catch (error) {
      const reason = (error as { shortMessage?: string; message: string }).shortMessage ?? String(error);
      const stderr = (error as { stderr?: unknown }).stderr;
      const detail =
        typeof stderr === "string" && stderr.trim() ? `: ${stderr.trim().split("\n").at(-1)}` : "";
      report.warnings.push(`preview: no ${plan.kind} of ${file.name} (${reason.split("\n")[0]}${detail})`);
      options.logger?.warn({ err: error, file: file.name, kind: plan.kind }, "preview not made");
    }
  }
  // No folder of nothing: a result without previews looks as it did before previews existed.
  if (report.previews.length === 0) {
    await bestEffort(rmdir(previewsDir), options.logger, "removing the empty previews folder");
  }
  return report;
}

/**
 * Every real image or video container has binary bytes in its first few; the dry-run engine's
 * placeholder outputs are JSON. Telling them apart here saves two failing ffmpeg runs per dry-run job.
 */
async function isTextFile(file: string): Promise<boolean> {
  const handle = await open(file, "r").catch(() => undefined);
  if (!handle) return false;
  try {
    const head = Buffer.alloc(64);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return (
      bytesRead > 0 &&
      head.subarray(0, bytesRead).every((byte) => byte >= 32 || byte === 9 || byte === 10 || byte === 13)
    );
  } finally {
    await handle.close();
  }
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
