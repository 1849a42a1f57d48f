/**
 * The hand-written bad-input corpus: each task with what it tries and how the farm must answer it
 * (refused at import with its field, failed on the worker with a clear reason, or completed — inside
 * the output root). Media files and the symlinks in the output root are made by `prepareCorpusFiles`.
 */
import { mkdir, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ChaosFarm } from "../harness/chaos-farm.ts";

export interface CorpusTask {
  what: string;
  text: string;
  expect: "refused" | "completed" | "failed";
  /** The field named in the import report (refused tasks). */
  field?: string;
  /** The reason a failed task must give. */
  reason?: RegExp;
  outputSubDir?: string;
  /** Where the result must land when a symlink inside the root leads there. */
  publishedAt?: string;
  /** The task's folder goes through a symlink. */
  symlink?: boolean;
}

const j = JSON.stringify;
const INVALID_THROUGH_LINK = /^invalid: .*(symbolic link|outside)/;

function task(fields: Record<string, unknown>): string {
  return j({ prompt: "a corpus task", model: "t2v", steps: 2, ...fields });
}

export const CORPUS: CorpusTask[] = [
  { what: "a plain valid task", text: task({ task_id: "c-plain" }), expect: "completed" },
  {
    what: "unicode everywhere",
    text: task({
      task_id: "c-ünï-東京-🎬",
      prompt: "雪の中の狐 🦊, שלום, Ωμέγα",
      output_sub_dir: "vidéos/東京/🎬",
    }),
    expect: "completed",
    outputSubDir: "vidéos/東京/🎬",
  },
  {
    what: "line breaks and tabs in the prompt",
    text: task({ task_id: "c-multiline-prompt", prompt: "first line\r\nsecond line\n\tindented" }),
    expect: "completed",
  },
  {
    what: "NUL, escape and bell in the prompt",
    text: task({ task_id: "c-ctrl-prompt", prompt: "before\u0000after\u001b[31mred\u0007" }),
    expect: "refused",
    field: "prompt",
  },
  {
    what: "a prompt of exactly 20,000 characters",
    text: task({ task_id: "c-long-prompt", prompt: "z".repeat(20_000) }),
    expect: "completed",
  },
  {
    what: "10,000 frames (the maximum)",
    text: task({ task_id: "c-frames-max", frames: 10_000 }),
    expect: "completed",
  },
  {
    what: "a prompt of 20,001 characters",
    text: task({ task_id: "c-prompt-over", prompt: "z".repeat(20_001) }),
    expect: "refused",
    field: "prompt",
  },
  {
    what: "10,001 frames",
    text: task({ task_id: "c-frames-over", frames: 10_001 }),
    expect: "refused",
    field: "frames",
  },
  {
    what: "frames 1e308",
    text: task({ task_id: "c-frames-huge" }).replace('"steps":2', '"steps":2,"frames":1e308'),
    expect: "refused",
    field: "frames",
  },
  { what: "a task id with ':'", text: task({ task_id: "c:colon" }), expect: "refused", field: "task_id" },
  {
    what: "a task id of digits only",
    text: task({ task_id: "0012345" }),
    expect: "refused",
    field: "task_id",
  },
  {
    what: "a NUL in the task id",
    text: task({ task_id: "c-nul\u0000id" }),
    expect: "refused",
    field: "task_id",
  },
  {
    what: "the same task id twice",
    text: task({ task_id: "c-plain", prompt: "again" }),
    expect: "refused",
    field: "task_id",
  },
  {
    what: "output_sub_dir with '..'",
    text: task({ task_id: "c-dotdot", output_sub_dir: "a/../../escape" }),
    expect: "refused",
    field: "output_sub_dir",
  },
  {
    what: "an absolute output_sub_dir",
    text: task({ task_id: "c-abs", output_sub_dir: "/tmp/escape" }),
    expect: "refused",
    field: "output_sub_dir",
  },
  {
    what: "a reserved output_sub_dir",
    text: task({ task_id: "c-reserved", output_sub_dir: ".wgp-farm-staging/x" }),
    expect: "refused",
    field: "output_sub_dir",
  },
  {
    what: "another task's output folder",
    text: task({ task_id: "c-same-dir", output_sub_dir: "c-plain" }),
    expect: "refused",
    field: "output_sub_dir",
  },
  {
    what: "a folder name longer than the file system allows (100 × '長' = 300 bytes)",
    text: task({ task_id: "c-long-segment", output_sub_dir: `long/${"長".repeat(100)}` }),
    expect: "refused",
    field: "output_sub_dir",
  },
  {
    what: "a missing control video",
    text: task({ task_id: "c-missing-media", video_guide_path: "nope.mp4" }),
    expect: "refused",
    field: "video_guide_path",
  },
  {
    what: "a folder as the start image",
    text: task({ task_id: "c-dir-media", image_start_paths: ["."] }),
    expect: "refused",
    field: "image_start_paths",
  },
  {
    what: "a URL as media",
    text: task({ task_id: "c-url-media", audio_guide_path: "http://127.0.0.1:1/a.wav" }),
    expect: "refused",
    field: "audio_guide_path",
  },
  {
    what: "a wrong type: steps as a string",
    text: task({ task_id: "c-steps-string", steps: "12" }),
    expect: "refused",
    field: "steps",
  },
  {
    what: "a wrong type: prompt as a list",
    text: task({ task_id: "c-prompt-list", prompt: ["a", "b"] }),
    expect: "refused",
    field: "prompt",
  },
  {
    what: "nesting 100 levels deep",
    text: `{"task_id":"c-deep","prompt":"x","sliding_window_size":${"[".repeat(100)}${"]".repeat(100)}}`,
    expect: "refused",
    field: "",
  },
  {
    what: "malformed JSON (unquoted key)",
    text: '{"task_id":"c-malformed", prompt: "x"}',
    expect: "refused",
    field: "",
  },
  {
    what: "a media file deleted between import and run",
    text: task({ task_id: "c-media-gone", model: "t2v_1.3B", image_refs_paths: "media/vanishing.png" }),
    expect: "failed",
    reason: /^invalid: /,
  },
  {
    what: "output folder through a symlink to a folder outside the root",
    text: task({ task_id: "c-link-out", output_sub_dir: "link-out/x" }),
    expect: "failed",
    reason: INVALID_THROUGH_LINK,
    symlink: true,
  },
  {
    what: "the output folder itself a symlink to outside",
    text: task({ task_id: "c-link-self", output_sub_dir: "link-out" }),
    expect: "failed",
    reason: INVALID_THROUGH_LINK,
    symlink: true,
  },
  {
    what: "a symlink deep in the path to outside",
    text: task({ task_id: "c-link-deep", output_sub_dir: "nested/deep/x" }),
    expect: "failed",
    reason: INVALID_THROUGH_LINK,
    symlink: true,
  },
  {
    what: "a symlink to a file outside",
    text: task({ task_id: "c-link-file", output_sub_dir: "link-file/x" }),
    expect: "failed",
    reason: /^invalid: /,
    symlink: true,
  },
  {
    what: "a symlink loop",
    text: task({ task_id: "c-link-loop", output_sub_dir: "loop/x" }),
    expect: "failed",
    reason: /^invalid: /,
    symlink: true,
  },
  {
    what: "a dangling symlink to a folder outside that does not exist yet",
    text: task({ task_id: "c-link-dangling", output_sub_dir: "dangling/x" }),
    expect: "failed",
    reason: /^invalid: /,
    symlink: true,
  },
  {
    what: "a symlink to a folder inside the root",
    text: task({ task_id: "c-link-inside", output_sub_dir: "alias/x" }),
    expect: "completed",
    outputSubDir: "alias/x",
    publishedAt: "real/x",
    symlink: true,
  },
];

/** Media files next to the tasks file, and the symlinks in the output root. `outside` stays empty. */
export async function prepareCorpusFiles(
  chaos: ChaosFarm,
  corpusDir: string,
  outside: string,
): Promise<void> {
  await mkdir(path.join(corpusDir, "media"), { recursive: true });
  await writeFile(path.join(corpusDir, "media", "vanishing.png"), "an image that will be gone");
  await mkdir(outside, { recursive: true });
  const out = chaos.outputDir;
  await mkdir(path.join(out, "nested"), { recursive: true });
  await mkdir(path.join(out, "real"), { recursive: true });
  await writeFile(path.join(chaos.dir, "outside-file.txt"), "a file outside the output root\n");
  await symlink(outside, path.join(out, "link-out"));
  await symlink(outside, path.join(out, "nested", "deep"));
  await symlink(path.join(chaos.dir, "outside-file.txt"), path.join(out, "link-file"));
  await symlink(path.join(out, "loop"), path.join(out, "loop"));
  await symlink(path.join(outside, "not-yet"), path.join(out, "dangling"));
  await symlink(path.join(out, "real"), path.join(out, "alias"));
}

/** Between import and run: the media file goes away. */
export async function afterCorpusImport(corpusDir: string): Promise<void> {
  await rm(path.join(corpusDir, "media", "vanishing.png"));
}
