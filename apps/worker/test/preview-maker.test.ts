import { mkdtemp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { probeVideo } from "@wgp-farm/testing";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import type { PublishedFile } from "../src/index.js";
import { makePreviews, PREVIEWS_DIR } from "../src/output/preview-maker.js";

let dir: string;

async function fileOf(name: string): Promise<PublishedFile> {
  return { name, size: (await stat(path.join(dir, name))).size, sha256: "" };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "previews-"));
  // A real short video and a real image, made by ffmpeg's test source at a Wan resolution.
  await execa("ffmpeg", [
    ...["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=832x480:rate=16:duration=2"],
    ...["-c:v", "libx264", "-pix_fmt", "yuv420p", path.join(dir, "clip.mp4")],
  ]);
  await execa("ffmpeg", [
    ...["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1024x1024", "-frames:v", "1"],
    path.join(dir, "picture.png"),
  ]);
  await writeFile(path.join(dir, "settings.json"), "{}");
}, 60_000);

describe("previews made at publish", () => {
  it("make a poster and an animated loop of a video and a thumbnail of an image, small, under previews/", async () => {
    const files = await Promise.all(["clip.mp4", "picture.png", "settings.json"].map(fileOf));
    const report = await makePreviews(dir, files);
    expect(report.warnings).toEqual([]);
    expect(report.previews.map(({ kind, name, source }) => ({ kind, name, source }))).toEqual([
      { kind: "poster", name: `${PREVIEWS_DIR}/clip.mp4.poster.jpg`, source: "clip.mp4" },
      { kind: "animated", name: `${PREVIEWS_DIR}/clip.mp4.preview.webp`, source: "clip.mp4" },
      { kind: "thumbnail", name: `${PREVIEWS_DIR}/picture.png.thumb.jpg`, source: "picture.png" },
    ]);
    for (const preview of report.previews) {
      expect(preview.size).toBe((await stat(path.join(dir, preview.name))).size);
    }
    expect(await probeVideo(path.join(dir, "previews/clip.mp4.poster.jpg"))).toMatchObject({
      width: 320,
      height: 184,
    });
    expect(await probeVideo(path.join(dir, "previews/picture.png.thumb.jpg"))).toMatchObject({
      width: 320,
      height: 320,
    });
    // An animated WebP (RIFF/WEBP with an ANIM chunk): the browser loops it in an <img>.
    const webp = await readFile(path.join(dir, "previews/clip.mp4.preview.webp"));
    expect(webp.subarray(0, 4).toString()).toBe("RIFF");
    expect(webp.subarray(8, 12).toString()).toBe("WEBP");
    expect(webp.includes(Buffer.from("ANIM"))).toBe(true);
    expect(webp.length).toBeLessThan((await stat(path.join(dir, "clip.mp4"))).size * 4);
  }, 60_000);

  it("turn a video ffmpeg cannot read into warnings, never a failure, and leave no empty folder", async () => {
    const empty = await mkdtemp(path.join(os.tmpdir(), "previews-none-"));
    await writeFile(path.join(empty, "broken.mp4"), Buffer.from([0, 0, 0, 24, 0xff, 0xfe, 1, 2, 3, 4, 5]));
    const report = await makePreviews(empty, [{ name: "broken.mp4", size: 11, sha256: "" }]);
    expect(await readdir(empty)).toEqual(["broken.mp4"]);
    expect(report.previews).toEqual([]);
    expect(report.warnings).toHaveLength(2);
    expect(report.warnings[0]).toMatch(/^preview: no poster of broken\.mp4 \(.*Invalid data/);
  }, 30_000);

  it("skip a dry-run placeholder (text under a video's name) with one note and no ffmpeg run", async () => {
    const placeholder = await mkdtemp(path.join(os.tmpdir(), "previews-placeholder-"));
    await writeFile(path.join(placeholder, "clip.mp4"), '{\n  "dry_run": true\n}\n');
    const report = await makePreviews(placeholder, [{ name: "clip.mp4", size: 20, sha256: "" }], {
      ffmpeg: "/nonexistent/ffmpeg",
    });
    expect(report.previews).toEqual([]);
    expect(report.warnings).toEqual([
      "preview: clip.mp4 is text, not media (a dry-run placeholder), so it has none",
    ]);
    expect(await readdir(placeholder)).toEqual(["clip.mp4"]);
  });

  it("report a missing ffmpeg as a warning per preview", async () => {
    const report = await makePreviews(dir, [await fileOf("picture.png")], { ffmpeg: "/nonexistent/ffmpeg" });
    expect(report.previews).toEqual([]);
    expect(report.warnings).toEqual([
      expect.stringMatching(/^preview: no thumbnail of picture\.png \(.*ENOENT/),
    ]);
  });
});
