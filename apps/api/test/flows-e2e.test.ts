import { readFile } from "node:fs/promises";
import path from "node:path";
import { copyOfFakeWangp, temporaryDir, WGP_FARM_BIN, waitUntil } from "@wgp-farm/testing";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Json, makeToken, openTestApi, type TestApi, task } from "./support/test-api.js";

/**
 * A flow submitted over HTTP, run end to end by the real `wgp-farm worker` (engine-py on the WanGP
 * double, writing real videos with ffmpeg), read back and post-processed over HTTP.
 */
const FLOW_TIMEOUT_MS = 150_000;
let api: TestApi;
let owner: string;
let other: string;
let temp: { dir: string; remove: () => Promise<void> };
let worker: ReturnType<typeof execa> | undefined;

beforeAll(async () => {
  api = await openTestApi();
  owner = await makeToken(api, ["submit", "read"]);
  other = await makeToken(api, ["submit", "read"], "other");
  temp = await temporaryDir("api-flows");
  const wangp = await copyOfFakeWangp(temp.dir);
  worker = execa(
    WGP_FARM_BIN,
    [
      ...["worker", "--wangp-root", wangp, "--main-output-dir", api.outputRoot],
      ...["--state-dir", path.join(temp.dir, "state"), "--slots", "2", "--name", "api-flows"],
      ...["--lock-duration-ms", "5000", "--stalled-interval-ms", "2000"],
      ...["--redis-url", inject("redisUrl"), "--prefix", api.prefix],
    ],
    {
      cwd: temp.dir,
      env: {
        ...process.env,
        WGP_FARM_LOG_FORMAT: "json",
        WGP_FARM_FAKE_MEDIA: "ffmpeg",
        FAKE_WANGP_STEP_S: "0.01",
        PYTHONDONTWRITEBYTECODE: "1",
      },
      stdin: "pipe",
      detached: true,
      reject: false,
      buffer: false,
      forceKillAfterDelay: false,
    },
  );
  worker.stdin?.end();
});

afterAll(async () => {
  if (worker?.pid !== undefined) {
    // The worker leads its process group: its engines go with it.
    try {
      process.kill(-worker.pid, "SIGKILL");
    } catch {
      worker.kill("SIGKILL"); // already gone
    }
    await worker;
  }
  await api?.close();
  await temp?.remove();
});

async function view(taskId: string, token = owner): Promise<Json> {
  const res = await api.call(`/v1/tasks/${taskId}`, { token });
  return res.status === 200 ? res.json() : { status: res.status };
}

async function untilCompleted(taskId: string): Promise<Json> {
  await waitUntil(async () => (await view(taskId)).state === "completed", FLOW_TIMEOUT_MS);
  return view(taskId);
}

describe("a flow over HTTP, run by the real worker", { timeout: 240_000 }, () => {
  it("generates, upscales and stitches; each step's files are the token's; postprocess adds a step later", async () => {
    const submitted = await api.call("/v1/tasks", {
      method: "POST",
      token: owner,
      json: {
        tasks: [
          // biome-ignore lint/suspicious/noThenProperty: the task file's post-step field
          task("web-a", { resolution: "64x48", frames: 9, steps: 2, then: [{ upscale: "lanczos2" }] }),
          task("web-b", { resolution: "128x96", frames: 13, steps: 2 }),
          { task_id: "web-joined", stitch: { from: ["web-a", "web-b"], reencode: true } },
        ],
      },
    });
    expect(submitted.status).toBe(201);
    const joined = await untilCompleted("web-joined");
    expect(joined.flow.children.map((child: Json) => [child.task_id, child.state])).toEqual([
      ["web-a--then-1-upscale", "completed"],
      ["web-b", "completed"],
    ]);

    const upscaled = await view("web-a--then-1-upscale");
    const video = upscaled.files.find((file: Json) => file.name.endsWith(".mp4"));
    expect(video.url).toBe(`/v1/tasks/web-a--then-1-upscale/files/${encodeURIComponent(video.name)}`);
    const download = await api.call(video.url, { token: owner });
    expect(download.status).toBe(200);
    expect((await download.arrayBuffer()).byteLength).toBe(video.size);
    expect((await api.call(video.url, { token: other })).status).toBe(404);

    const added = await api.call("/v1/tasks/web-a/postprocess", {
      method: "POST",
      token: owner,
      // biome-ignore lint/suspicious/noThenProperty: the post-step field of the API
      json: { then: [{ interpolate: "rife2" }] },
    });
    expect(added.status).toBe(202);
    const [step] = (await added.json()).steps;
    expect(step.task_id).toBe("web-a--then-2-interpolate");
    const interpolated = await untilCompleted(step.task_id);
    expect(interpolated.output_sub_dir).toBe("web-a/then-2-interpolate");
    const manifest = JSON.parse(
      await readFile(path.join(api.outputRoot, "web-a", "then-2-interpolate", "result.json"), "utf8"),
    );
    expect(manifest.source).toMatchObject({ task_id: "web-a--then-1-upscale" });
    expect((await view(step.task_id, other)).status).toBe(404);
  });
});
