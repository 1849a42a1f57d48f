import { writeFile } from "node:fs/promises";
import path from "node:path";
import { modelQueueName, STITCH_QUEUE } from "@wgp-farm/queue";
import { startTestWorker, waitUntil } from "@wgp-farm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Json, makeToken, openTestApi, type TestApi, task } from "./support/test-api.js";

/** Pipelines over HTTP (issue 17): flows go in as `import-tasks` puts them, and every job of one is its token's. */
let api: TestApi;
let submitter: string;
let other: string;

beforeAll(async () => {
  api = await openTestApi();
  submitter = await makeToken(api, ["submit", "read", "cancel"]);
  other = await makeToken(api, ["submit", "read", "cancel"], "other");
});
afterAll(() => api.close());

async function submit(tasks: unknown[], token = submitter) {
  const res = await api.call("/v1/tasks", { method: "POST", token, json: { tasks } });
  return { status: res.status, body: (await res.json()) as Json };
}

async function parentOf(queue: string, id: string): Promise<string | null> {
  return (await api.farm.queues.byName(queue).getJob(id))?.parent?.id ?? null;
}

async function stateOf(taskId: string, token = submitter): Promise<string | number> {
  const res = await api.call(`/v1/tasks/${taskId}`, { token });
  return res.status === 200 ? (await res.json()).state : res.status;
}

/** A postprocess body: the steps, as a task file's `then`. */
// biome-ignore lint/suspicious/noThenProperty: the post-step field of the API
const stepsBody = (...steps: unknown[]) => ({ then: steps });

const invalidOf = (body: Json) => (body.invalid ?? body.error?.details?.invalid) as Json[];

describe("flows over POST /v1/tasks", () => {
  it("queues post-steps, dependencies and a stitch as BullMQ flows, and every job of them is the token's", async () => {
    const { status, body } = await submit([
      task("f-seg-1"),
      task("f-seg-2", { depends_on: ["f-seg-1"], video_source: { from: "f-seg-1" } }),
      // biome-ignore lint/suspicious/noThenProperty: the task file's post-step field
      task("f-take", { then: [{ upscale: "lanczos2" }] }),
      { task_id: "f-travel", stitch: { from: ["f-seg-1", "f-seg-2"] } },
    ]);
    expect(status).toBe(201);
    expect(body.tasks.map((entry: Json) => [entry.task_id, entry.queue, entry.flow])).toEqual([
      ["f-seg-1", "model.t2v", "f-travel"],
      ["f-seg-2", "model.t2v", "f-travel"],
      ["f-take", "model.t2v", "f-take--then-1-upscale"],
      ["f-travel", STITCH_QUEUE, "f-travel"],
    ]);
    expect(await parentOf("model.t2v", "f-seg-1")).toBe("f-seg-2");
    expect(await parentOf("model.t2v", "f-seg-2")).toBe("f-travel");
    expect(await parentOf("model.t2v", "f-take")).toBe("f-take--then-1-upscale");
    // The post-step is the token's: it reads it, and the stitch shows its flow as a tree.
    expect(await stateOf("f-take--then-1-upscale")).toBe("waiting-children");
    expect(await stateOf("f-take--then-1-upscale", other)).toBe(404);
    const travel = await (await api.call("/v1/tasks/f-travel", { token: submitter })).json();
    expect(travel.flow.task_id).toBe("f-travel");
    expect(travel.flow.children.map((child: Json) => child.task_id)).toEqual(["f-seg-2"]);
    // The token's listing holds the tasks it sent; their steps are reached through them.
    const listed = await (await api.call("/v1/tasks?limit=100", { token: submitter })).json();
    const ids = listed.tasks.map((entry: Json) => entry.task_id);
    expect(ids).toEqual(expect.arrayContaining(["f-seg-1", "f-seg-2", "f-take", "f-travel"]));
    expect(ids).not.toContain("f-take--then-1-upscale");
  });

  it("refuses a bad flow whole, naming task and field, and queues the valid flow and task beside it (207)", async () => {
    const { status, body } = await submit([
      task("g-plain"),
      task("g-a"),
      task("g-b", { depends_on: ["g-a"] }),
      task("g-loop-1", { depends_on: ["g-loop-2"] }),
      task("g-loop-2", { depends_on: ["g-loop-1"] }),
      task("g-orphan", { depends_on: ["g-nobody"] }),
      // biome-ignore lint/suspicious/noThenProperty: the task file's post-step field
      task("g-bad-step", { then: [{ upscale: "lanczos9" }] }),
    ]);
    expect(status).toBe(207);
    expect(body.tasks.map((entry: Json) => entry.task_id)).toEqual(["g-plain", "g-a", "g-b"]);
    const refused = Object.fromEntries(
      body.invalid.map((entry: Json) => [entry.task_id, entry.errors.map((e: Json) => [e.path, e.message])]),
    );
    expect(refused["g-loop-1"]).toEqual([["depends_on[0]", expect.stringContaining("dependency cycle")]]);
    expect(refused["g-orphan"]).toEqual([
      ["depends_on[0]", "'g-nobody' is neither in this file nor known to the farm"],
    ]);
    expect(refused["g-bad-step"]?.[0]?.[0]).toMatch(/^then/);
    for (const id of ["g-loop-1", "g-loop-2", "g-orphan", "g-bad-step"])
      expect(await api.farm.redis.hget(api.farm.keys.taskIndex, id)).toBeNull();
    expect(await parentOf("model.t2v", "g-a")).toBe("g-b");
  });

  it("answers the same flow again from its stored outcome, and adds nothing twice", async () => {
    const flow = [task("h-1"), task("h-2", { depends_on: ["h-1"] })];
    const first = await submit(flow);
    expect(first.status).toBe(201);
    const counts = await api.farm.queues.forModel("t2v").getJobCounts();
    const again = await submit(flow);
    expect(again).toEqual(first);
    expect(await api.farm.queues.forModel("t2v").getJobCounts()).toEqual(counts);
    // A new dependant of the stored flow goes in on top of it.
    const more = await submit([...flow, task("h-3", { depends_on: ["h-2"] })]);
    expect(more.status).toBe(201);
    expect(await parentOf("model.t2v", "h-2")).toBe("h-3");
  });

  it("does not let a flow build on another token's task: to this token it does not exist", async () => {
    expect((await submit([task("theirs")], other)).status).toBe(201);
    const { status, body } = await submit([task("mine-after", { depends_on: ["theirs"] })]);
    expect(status).toBe(422);
    expect(invalidOf(body)[0].errors).toEqual([
      { path: "depends_on[0]", message: "'theirs' is neither in this file nor known to the farm" },
    ]);
    expect(await parentOf("model.t2v", "theirs")).toBeNull();
  });

  it("refuses a flow whole when one of its ids is another token's (409), and leaves the rest of its ids free", async () => {
    expect((await submit([task("held-id")], other)).status).toBe(201);
    const { status, body } = await submit([
      task("held-id", { prompt: "taken over" }),
      task("free-id", { depends_on: ["held-id"] }),
    ]);
    expect(status).toBe(409);
    expect(body.error.code).toBe("task_id_conflict");
    expect(invalidOf(body).map((entry: Json) => entry.errors[0].path)).toEqual(["task_id", ""]);
    expect((await api.farm.queues.forModel("t2v").getJob("held-id"))?.data.task.prompt).toBe(
      "a test video for held-id",
    );
    expect((await submit([task("free-id")], other)).status).toBe(201);
  });

  it("cancel of a flow task cancels what depends on it; its token retries it and the flow resumes", async () => {
    // biome-ignore lint/suspicious/noThenProperty: the task file's post-step field
    await submit([task("k-1", { then: [{ upscale: "lanczos2" }] }), task("k-2", { depends_on: ["k-1"] })]);
    const cancelled = await api.call("/v1/tasks/k-1", { method: "DELETE", token: submitter });
    expect(cancelled.status).toBe(200);
    // The jobs that depend on it fail with it, naming why, and keep their place in the flow.
    expect(await stateOf("k-1--then-1-upscale")).toBe("failed");
    const dependant = await (await api.call("/v1/tasks/k-2", { token: submitter })).json();
    expect(dependant.state).toBe("failed");
    expect(dependant.flow.children[0].failed_reason).toMatch(/^cancelled/);
    expect((await api.call("/v1/tasks/k-1/retry", { method: "POST", token: other })).status).toBe(404);
    const retried = await api.call("/v1/tasks/k-1/retry", { method: "POST", token: submitter });
    expect(retried.status).toBe(202);
    expect((await retried.json()).resumed).toEqual(["k-1--then-1-upscale", "k-2"]);
    expect(await stateOf("k-2")).toBe("waiting-children");
  });

  it("confines a custom soundtrack's audio like any media: an upload or a file under a media root", async () => {
    const outside = path.join(api.outside, "secret.wav");
    await writeFile(outside, "RIFF");
    const refused = await submit([
      // biome-ignore lint/suspicious/noThenProperty: the task file's post-step field
      task("s-out", { then: [{ soundtrack: { method: "custom", audio: outside } }] }),
    ]);
    expect(refused.status).toBe(422);
    expect(invalidOf(refused.body)[0].errors[0]).toMatchObject({ path: "then[0].soundtrack.audio" });
    const upload = await api.call("/v1/inputs", {
      method: "POST",
      token: submitter,
      headers: { "Content-Type": "audio/wav" },
      body: "RIFF....WAVE",
    });
    const { input_id: inputId } = await upload.json();
    const accepted = await submit([
      // biome-ignore lint/suspicious/noThenProperty: the task file's post-step field
      task("s-in", { then: [{ soundtrack: { method: "custom", audio: inputId } }] }),
    ]);
    expect(accepted.status).toBe(201);
    const step = await api.farm.queues.byName("model.post.soundtrack").getJob("s-in--then-1-soundtrack");
    expect((step?.data as Json | undefined)?.step.audio_source).toBe(
      path.join(api.inputsDir, `${inputId.slice(6)}.wav`),
    );
  });
});

describe("POST /v1/tasks/{id}/postprocess", () => {
  it("adds steps to a completed task of the token, and the steps are the token's", async () => {
    await submit([task("pp-done"), task("pp-waiting", { model: "t2v_1.3B" })]);
    const queue = modelQueueName("t2v");
    const worker = await startTestWorker(api.farm, queue, async () => ({
      status: "completed",
      output_dir: path.join(api.outputRoot, "pp-done"),
      main_file: "pp-done.mp4",
      files: [],
    }));
    try {
      await waitUntil(
        async () => (await api.farm.queues.byName(queue).getJobState("pp-done")) === "completed",
      );
    } finally {
      await worker.close();
    }
    const call = (taskId: string, json: unknown, token = submitter) =>
      api.call(`/v1/tasks/${taskId}/postprocess`, { method: "POST", token, json });

    const added = await call("pp-done", stepsBody({ upscale: "lanczos2" }, { interpolate: "rife2" }));
    expect(added.status).toBe(202);
    expect((await added.json()).steps.map((step: Json) => step.task_id)).toEqual([
      "pp-done--then-1-upscale",
      "pp-done--then-2-interpolate",
    ]);
    expect(await stateOf("pp-done--then-1-upscale")).toMatch(/waiting/);
    expect(await stateOf("pp-done--then-2-interpolate", other)).toBe(404);

    expect((await call("pp-done", stepsBody({ upscale: "lanczos2" }), other)).status).toBe(404);
    const early = await call("pp-waiting", stepsBody({ upscale: "lanczos2" }));
    expect(early.status).toBe(409);
    expect((await early.json()).error.code).toBe("not_postprocessable");
    const bad = await call("pp-done", stepsBody({ upscale: "lanczos9" }));
    expect(bad.status).toBe(422);
    expect((await bad.json()).error.details.errors[0].path).toBe("then[0].upscale");
    const typo = await call("pp-done", { ...stepsBody({ upscale: "lanczos2" }), than: [] });
    expect(typo.status).toBe(400);
    expect((await typo.json()).error.code).toBe("unknown_field");
  });
});
