import { createHash } from "node:crypto";
import { readdir, readFile, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeToken, openTestApi, type TestApi, task } from "./support/test-api.js";

let api: TestApi;
let token: string;
const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.alloc(2048, 7)]);
const sha = createHash("sha256").update(png).digest("hex");

beforeAll(async () => {
  api = await openTestApi({ maxUploadBytes: 64 * 1024 });
  token = await makeToken(api, ["submit", "read"]);
});
afterAll(() => api.close());

function upload(body: RequestInit["body"], contentType = "image/png") {
  return api.call("/v1/inputs", { method: "POST", token, body, headers: { "Content-Type": contentType } });
}

async function jobTask(taskId: string) {
  return (await api.farm.queues.forModel("t2v").getJob(taskId))?.data.task;
}

describe("POST /v1/inputs", () => {
  it("stores a file under its sha256 (201), and reuses it for the same bytes (200)", async () => {
    const first = await upload(png);
    expect(first.status).toBe(201);
    expect(await first.json()).toEqual({
      input_id: `input:${sha}`,
      sha256: sha,
      size: png.length,
      content_type: "image/png",
      created: true,
    });
    expect(await readFile(path.join(api.inputsDir, `${sha}.png`))).toEqual(png);
    const again = await upload(png);
    expect(again.status).toBe(200);
    expect((await again.json()).created).toBe(false);
    expect((await readdir(api.inputsDir)).filter((name) => name.startsWith(sha))).toEqual([`${sha}.png`]);
  });

  it("refuses a file over the size limit (413) and leaves nothing behind, streamed or declared", async () => {
    const big = Buffer.alloc(100 * 1024, 1);
    const declared = await upload(big);
    expect(declared.status).toBe(413);
    expect((await declared.json()).error.code).toBe("input_too_large");
    const streamed = await upload(
      new ReadableStream({
        start(controller) {
          for (let i = 0; i < 10; i++) controller.enqueue(new Uint8Array(16 * 1024));
          controller.close();
        },
      }),
    );
    expect(streamed.status).toBe(413);
    expect((await readdir(api.inputsDir)).filter((name) => !name.startsWith(sha))).toEqual([]);
  });

  it("refuses a content type that is not media (415)", async () => {
    const res = await upload("#!/bin/sh\n", "text/x-shellscript");
    expect(res.status).toBe(415);
    expect((await res.json()).error.message).toContain("image/png");
  });
});

describe("media of tasks submitted over HTTP", () => {
  it("resolves input:<sha256> to the stored file before queueing", async () => {
    await upload(png);
    const res = await api.call("/v1/tasks", {
      method: "POST",
      token,
      json: task("with-input", { image_refs_paths: [`input:${sha}`], image_start: `input:${sha}` }),
    });
    expect(res.status).toBe(201);
    const queued = await jobTask("with-input");
    expect(queued?.image_refs_paths).toEqual([path.join(api.inputsDir, `${sha}.png`)]);
    expect(queued?.image_start_paths).toEqual([path.join(api.inputsDir, `${sha}.png`)]);
  });

  it("accepts a file under a media root", async () => {
    await writeFile(path.join(api.mediaRoot, "guide.mp4"), "video");
    const res = await api.call("/v1/tasks", {
      method: "POST",
      token,
      json: task("from-root", { video_guide_path: "guide.mp4" }),
    });
    expect(res.status).toBe(201);
    expect((await jobTask("from-root"))?.video_guide_path).toBe(path.join(api.mediaRoot, "guide.mp4"));
  });

  it.each([
    ["an absolute path elsewhere", () => "/etc/passwd"],
    ["a relative path climbing out", () => "../outside/secret.png"],
    ["a symlink out of the root", () => "link-out.png"],
    ["an unknown input", () => `input:${"0".repeat(64)}`],
  ])("refuses %s with a 422 naming the task and field, and queues nothing", async (_what, value) => {
    await writeFile(path.join(api.outside, "secret.png"), "x");
    await symlink(path.join(api.outside, "secret.png"), path.join(api.mediaRoot, "link-out.png")).catch(
      () => undefined,
    );
    const res = await api.call("/v1/tasks", {
      method: "POST",
      token,
      json: { tasks: [task("confined", { image_refs_paths: ["ok-later.png", value()] })] },
    });
    expect(res.status).toBe(422);
    const [entry] = (await res.json()).error.details.invalid;
    expect(entry.task_id).toBe("confined");
    expect(entry.errors.map((error: { path: string }) => error.path)).toContain("image_refs_paths[1]");
    expect(JSON.stringify(entry.errors)).not.toContain("file not found: /etc");
    expect(await jobTask("confined")).toBeUndefined();
  });
});
