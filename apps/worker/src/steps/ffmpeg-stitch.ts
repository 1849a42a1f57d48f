import { writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";

/** How to join videos: in order, copying the streams, or re-encoding (with an optional crossfade). */
export interface StitchPlan {
  files: readonly string[];
  target: string;
  /** Where ffmpeg's scratch files go (not the published folder). */
  workDir: string;
  /** Without re-encode ffmpeg's concat demuxer copies the streams: the sources must share codec and size. */
  reencode: boolean;
  /** Seconds of crossfade between consecutive videos (0: a hard cut); a crossfade re-encodes. */
  crossfadeS: number;
}

interface MediaInfo {
  durationS: number;
  hasAudio: boolean;
}

const ENCODE = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"];

/**
 * Stitches share the worker's CPU with its own control loop (lock renewals, engine feeding): a
 * hundred-input ffmpeg runs hundreds of decoder threads, which on a small host starved the worker's
 * event loop until the stitch's lock expired. Run at a lower priority (`nice`, so that every thread
 * ffmpeg starts inherits it), the stitch takes the CPU the worker leaves.
 */
const BACKGROUND = ["nice", "-n", "10"] as const;
/** ffprobes run at once when measuring the inputs of a stitch. */
const PROBES_AT_ONCE = 4;

function runInBackground(tool: "ffmpeg" | "ffprobe", args: readonly string[], signal: AbortSignal) {
  const [nice, ...niceArgs] = BACKGROUND;
  return execa(nice, [...niceArgs, tool, ...args], { cancelSignal: signal });
}

async function mediaInfo(file: string, signal: AbortSignal): Promise<MediaInfo> {
  const { stdout } = await runInBackground(
    "ffprobe",
    ["-v", "error", "-show_entries", "format=duration:stream=codec_type", "-of", "json", file],
    signal,
  );
  const probed = JSON.parse(stdout) as {
    format?: { duration?: string };
    streams?: { codec_type?: string }[];
  };
  return {
    durationS: Number(probed.format?.duration ?? 0),
    hasAudio: (probed.streams ?? []).some((stream) => stream.codec_type === "audio"),
  };
}

/** `work` over every item, at most `limit` at a time, results in the items' order. */
async function mapAtMost<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/** The concat demuxer's list: one `file '<path>'` line per video, quotes escaped as ffmpeg reads them. */
function concatList(files: readonly string[]): string {
  return files.map((file) => `file '${file.replaceAll("'", "'\\''")}'\n`).join("");
}

/** The filter graph that joins every input: the concat filter, or a chain of xfade (and acrossfade). */
function joinFilter(infos: readonly MediaInfo[], crossfadeS: number, withAudio: boolean): string {
  const n = infos.length;
  if (crossfadeS <= 0) {
    const inputs = infos.map((_, i) => (withAudio ? `[${i}:v][${i}:a]` : `[${i}:v]`)).join("");
    return `${inputs}concat=n=${n}:v=1:a=${withAudio ? 1 : 0}${withAudio ? "[v][a]" : "[v]"}`;
  }
  const parts: string[] = [];
  let video = "[0:v]";
  let audio = "[0:a]";
  let offset = 0;
  for (let i = 1; i < n; i += 1) {
    offset += (infos[i - 1]?.durationS ?? 0) - crossfadeS;
    const last = i === n - 1;
    const v = last ? "[v]" : `[v${i}]`;
    parts.push(
      `${video}[${i}:v]xfade=transition=fade:duration=${crossfadeS}:offset=${offset.toFixed(3)}${v}`,
    );
    video = v;
    if (withAudio) {
      const a = last ? "[a]" : `[a${i}]`;
      parts.push(`${audio}[${i}:a]acrossfade=d=${crossfadeS}${a}`);
      audio = a;
    }
  }
  return parts.join(";");
}

/** Joins the videos into `target` with ffmpeg on this host's CPU; the signal stops ffmpeg. */
export async function stitchVideos(plan: StitchPlan, signal: AbortSignal): Promise<void> {
  const { files, target } = plan;
  const run = (args: string[]) =>
    runInBackground("ffmpeg", ["-hide_banner", "-loglevel", "error", "-nostdin", "-y", ...args], signal);
  if (!plan.reencode && plan.crossfadeS <= 0) {
    const list = path.join(plan.workDir, "concat-list.txt");
    await writeFile(list, concatList(files));
    await run(["-f", "concat", "-safe", "0", "-i", list, "-c", "copy", target]);
    return;
  }
  const infos = await mapAtMost(files, PROBES_AT_ONCE, (file) => mediaInfo(file, signal));
  const withAudio = infos.every((info) => info.hasAudio);
  const filter = joinFilter(infos, plan.crossfadeS, withAudio);
  const maps = withAudio ? ["-map", "[v]", "-map", "[a]", "-c:a", "aac"] : ["-map", "[v]"];
  await run([
    ...files.flatMap((file) => ["-i", file]),
    "-filter_complex",
    filter,
    ...maps,
    ...ENCODE,
    target,
  ]);
}
