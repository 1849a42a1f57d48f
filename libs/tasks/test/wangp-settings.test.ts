import { describe, expect, it } from "vitest";
import { CAUSVID_PRESET, type Task, toWanGPSettings, translateLegacyVideoPromptType } from "../src/index.js";

const task = (fields: Partial<Task>): Task =>
  ({
    task_id: "t",
    prompt: "p",
    model: "t2v",
    seed: 7,
    priority: 100,
    output_sub_dir: "t",
    ...fields,
  }) as Task;

describe("toWanGPSettings", () => {
  it("renames task fields to WanGP keys and leaves farm-only fields out", () => {
    const { settings } = toWanGPSettings(
      task({
        frames: 81,
        steps: 20,
        video_guide_path: "/m/g.mp4",
        image_refs_paths: ["/m/r.png"],
        sample_solver: "euler",
      }),
    );
    expect(settings).toEqual({
      model_type: "t2v",
      prompt: "p",
      seed: 7,
      video_length: 81,
      num_inference_steps: 20,
      video_guide: "/m/g.mp4",
      image_refs: ["/m/r.png"],
      sample_solver: "euler",
      multi_prompts_gen_type: "FG",
      prompt_enhancer: "",
    });
  });

  it("translates the legacy VM flags to VA when a mask is given, and says so", () => {
    const { settings, notes } = toWanGPSettings(
      task({ video_prompt_type: "VM", video_mask_path: "/m/mask.mp4" }),
    );
    expect(settings.video_prompt_type).toBe("VA");
    expect(notes[0]).toContain("legacy");
    expect(translateLegacyVideoPromptType("VM", false)).toBe("VM");
    expect(translateLegacyVideoPromptType("MVA", true)).toBe("MVA");
  });

  it("applies the CausVid preset: LoRA first at 0.3, cfg 1, shift 7, 12 steps", () => {
    const { settings, notes, causvid } = toWanGPSettings(
      task({
        use_causvid_lora: true,
        activated_loras: ["mine.safetensors"],
        loras_multipliers: "0.8",
        guidance_scale: 5,
      }),
    );
    expect(causvid).toBe(true);
    expect(settings).toMatchObject({
      activated_loras: [CAUSVID_PRESET.loraFile, "mine.safetensors"],
      loras_multipliers: "0.3\n0.8",
      guidance_scale: 1,
      flow_shift: 7,
      num_inference_steps: 12,
    });
    expect(notes).toEqual(["CausVid preset sets guidance_scale 1 (the task asked for 5)"]);
  });

  it("keeps the task's steps under CausVid and warns outside the 14B t2v family", () => {
    const { settings, notes } = toWanGPSettings(
      task({ use_causvid_lora: true, steps: 8, model: "t2v_1.3B" }),
    );
    expect(settings.num_inference_steps).toBe(8);
    expect(settings.loras_multipliers).toBe("0.3");
    expect(notes.join(" ")).toContain("'t2v_1.3B' is not one");
  });

  it("does not add the CausVid LoRA twice", () => {
    const { settings } = toWanGPSettings(
      task({
        use_causvid_lora: true,
        activated_loras: ["a.safetensors", CAUSVID_PRESET.loraFile],
        loras_multipliers: "1 0.5",
      }),
    );
    expect(settings.activated_loras).toEqual(["a.safetensors", CAUSVID_PRESET.loraFile]);
    expect(settings.loras_multipliers).toBe("1 0.5");
  });
});
