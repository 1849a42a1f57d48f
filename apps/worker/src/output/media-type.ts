import path from "node:path";
import type { ResultMessage } from "@wgp-farm/engine";
import type { PublishedFile } from "./output-publisher.js";

export type MediaType = NonNullable<ResultMessage["media_type"]>;

/** The same extensions as engine-py's `media_types.py`. */
const BY_EXTENSION: ReadonlyMap<string, MediaType> = new Map([
  ...[".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v", ".gif"].map((ext) => [ext, "video"] as const),
  ...[".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"].map((ext) => [ext, "image"] as const),
  ...[".wav", ".mp3", ".flac", ".ogg", ".m4a", ".aac", ".opus"].map((ext) => [ext, "audio"] as const),
]);

export function mediaTypeOf(file: string): MediaType {
  return BY_EXTENSION.get(path.extname(file).toLowerCase()) ?? "other";
}

/**
 * The result's main file and its kind. The engine names both (the last file of the model's main
 * output kind: an image model's image, not a preview clip); an engine that reports no kind gets the
 * kind of the file it named.
 */
export function mainOutputOf(
  result: Pick<ResultMessage, "main_file" | "media_type">,
  files: readonly PublishedFile[],
): { main: PublishedFile | undefined; mainName: string; mediaType: MediaType } {
  const mainName = path.basename(result.main_file);
  const mediaType = result.media_type ?? mediaTypeOf(mainName);
  const main =
    files.find((file) => file.name === mainName) ??
    files.findLast((file) => mediaTypeOf(file.name) === mediaType) ??
    files.at(-1);
  return { main, mainName, mediaType };
}
