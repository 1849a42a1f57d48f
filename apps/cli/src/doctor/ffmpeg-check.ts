import path from "node:path";
import { findExecutable, runCommand } from "@wgp-farm/host";
import { type CheckResult, check } from "./check-result.js";

/**
 * WanGP looks for ffmpeg and ffprobe in <root>/ffmpeg_bins, the root and PATH, and downloads a build
 * from GitHub at start-up when it finds none: a host without internet access then fails to start.
 */
export async function checkFfmpeg(wangpRoot: string | undefined): Promise<CheckResult> {
  const searchPath = [
    ...(wangpRoot ? [path.join(wangpRoot, "ffmpeg_bins"), wangpRoot] : []),
    process.env.PATH ?? "",
  ].join(path.delimiter);
  const ffmpeg = await findExecutable("ffmpeg", searchPath);
  const ffprobe = await findExecutable("ffprobe", searchPath);
  const fix =
    "install ffmpeg on the host or in the image (Debian/Ubuntu: apt-get install ffmpeg), so that WanGP does not download its own at start-up";
  if (!ffmpeg || !ffprobe) {
    const absent = [ffmpeg ? "" : "ffmpeg", ffprobe ? "" : "ffprobe"].filter(Boolean).join(" and ");
    return check("tools", "ffmpeg", "warn", `${absent} not found on PATH`, { fix });
  }
  try {
    const { stdout } = await runCommand(ffmpeg, ["-hide_banner", "-version"]);
    return check("tools", "ffmpeg", "ok", `${stdout.split("\n")[0]?.trim()} (${ffmpeg})`);
  } catch (error) {
    return check("tools", "ffmpeg", "warn", `${ffmpeg} does not run: ${(error as Error).message}`, { fix });
  }
}
