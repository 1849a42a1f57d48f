import { describe, expect, it } from "vitest";
import { TaskValidator, type WangpKnowledge } from "../src/index.js";

const hosts: WangpKnowledge = {
  modelTypes: new Set(["t2v", "auk"]),
  settingNames: new Set(["prompt", "num_inference_steps", "video_guide3"]),
  mediaKeys: new Set(["video_guide", "video_guide3"]),
  source: "the live hosts (render-01)",
  fromHosts: true,
};

describe("TaskValidator against what the farm's hosts know", () => {
  it("accepts a model and a media setting only a host's WanGP knows, resolving its path", async () => {
    const verdict = await new TaskValidator({
      mediaRoot: "/media",
      wangp: hosts,
      checkMediaExists: false,
    }).validate({
      task_id: "v13",
      prompt: "p",
      model: "auk",
      num_inference_steps: 4,
      video_guide3: "guide.mp4",
    });
    expect(verdict.ok).toBe(true);
    if (!verdict.ok) return;
    expect(verdict.warnings).toEqual([]);
    expect(verdict.task).toMatchObject({ model: "auk", video_guide3: "/media/guide.mp4" });
  });

  it("warns that a task whose model no live host knows waits for one that does", async () => {
    const verdict = await new TaskValidator({ mediaRoot: "/", wangp: hosts }).validate({
      task_id: "later",
      prompt: "p",
      model: "t2v_1.3B",
    });
    expect(verdict.ok).toBe(true);
    expect(verdict.warnings).toEqual([
      {
        path: "model",
        message:
          "no live host knows model 't2v_1.3B' (the live hosts (render-01)): the task waits for a host that knows it",
      },
    ]);
  });
});
