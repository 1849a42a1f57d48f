import { mkdir } from "node:fs/promises";
import path from "node:path";
import { probeVideo, temporaryDir } from "@wgp-farm/testing";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { stitchVideos } from "../src/steps/ffmpeg-stitch.js";
import { onCleanup } from "./support.js";

/** ffmpeg's joins on real files (testsrc2 at 16 fps): stream copy, and a re-encoded crossfade. */
async function testVideo(file: string, frames: number, withAudio = false): Promise<string> {
  const audio = withAudio ? ["-f", "lavfi", "-i", "sine=frequency=440", "-shortest", "-c:a", "aac"] : [];
  await execa("ffmpeg", [
    "-hide_banner",
    "-loglevel",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=64x48:rate=16",
    ...audio,
    "-frames:v",
    String(frames),
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-pix_fmt",
    "yuv420p",
    file,
  ]);
  return file;
}

async function workDir(): Promise<string> {
  const { dir, remove } = await temporaryDir("ffmpeg-stitch");
  onCleanup(remove);
  await mkdir(path.join(dir, "work"));
  return dir;
}

describe("stitchVideos", () => {
  it("copies the streams in order, whatever the file names hold", async () => {
    const dir = await workDir();
    const files = [
      await testVideo(path.join(dir, "it's one.mp4"), 5),
      await testVideo(path.join(dir, "two.mp4"), 7),
    ];
    const target = path.join(dir, "joined.mp4");
    await stitchVideos(
      { files, target, workDir: path.join(dir, "work"), reencode: false, crossfadeS: 0 },
      new AbortController().signal,
    );
    expect((await probeVideo(target)).frames).toBe(12);
  }, 60_000);

  it("crossfades when asked: the overlap is shared, audio included", async () => {
    const dir = await workDir();
    const files = [
      await testVideo(path.join(dir, "a.mp4"), 16, true),
      await testVideo(path.join(dir, "b.mp4"), 16, true),
    ];
    const target = path.join(dir, "faded.mp4");
    await stitchVideos(
      { files, target, workDir: path.join(dir, "work"), reencode: true, crossfadeS: 0.25 },
      new AbortController().signal,
    );
    // 1 s + 1 s less a quarter-second overlap at 16 fps.
    expect(Math.abs((await probeVideo(target)).frames - 28)).toBeLessThanOrEqual(1);
  }, 60_000);
});
