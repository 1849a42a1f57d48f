import { CAUSVID_PRESET, isCausVidFamily, prependCausVidLora } from "./causvid.js";
import { TASK_FIELD_TO_WANGP_KEY, type Task } from "./task-schema.js";

/** A WanGP settings dict, as `WanGPSession.submit_task` takes it (CONTRACT.md §2). */
export type WanGPSettings = Record<string, unknown> & {
  model_type: string;
  prompt: string;
  seed: number;
};

export interface WanGPSettingsPlan {
  settings: WanGPSettings;
  /** Things the operator should know about this task's settings (job log and result.json). */
  notes: string[];
  causvid: boolean;
}

/** Fields that steer wgp-farm itself and are never sent to WanGP. */
const FARM_ONLY_FIELDS: ReadonlySet<string> = new Set([
  "task_id",
  "output_sub_dir",
  "use_causvid_lora",
  "priority",
  "webhook",
]);

/**
 * Legacy headless `"VM"` meant "control video + mask"; in today's WanGP `M` is inpaint preprocessing
 * and the mask is only used with `A`, so a task that supplies a mask without `A` gets `M` → `A`
 * (CONTRACT.md §2.4). Without a mask, the flags are today's and stay as written.
 */
export function translateLegacyVideoPromptType(flags: string, hasMask: boolean): string {
  if (!hasMask || !flags.includes("M") || flags.includes("A")) return flags;
  return flags.replace("M", "A");
}

/**
 * Turns an imported task into the settings sent to WanGP: field renames (`frames` → `video_length`,
 * `*_path(s)` → media keys), legacy flag translation, the CausVid preset, and the keys every headless
 * task needs (`multi_prompts_gen_type: "FG"`, `prompt_enhancer: ""`). The importer, the dry-run
 * engine and the worker all call this one function.
 */
export function toWanGPSettings(task: Task): WanGPSettingsPlan {
  const notes: string[] = [];
  const settings: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(task)) {
    if (value === undefined || FARM_ONLY_FIELDS.has(key)) continue;
    const renamed = (TASK_FIELD_TO_WANGP_KEY as Record<string, string>)[key];
    settings[renamed ?? key] = value;
  }

  if (typeof settings.video_prompt_type === "string") {
    const original = settings.video_prompt_type;
    const translated = translateLegacyVideoPromptType(original, settings.video_mask !== undefined);
    if (translated !== original) {
      settings.video_prompt_type = translated;
      notes.push(
        `video_prompt_type '${original}' is the legacy "video + mask" form; sent as '${translated}'`,
      );
    }
  }

  const causvid = task.use_causvid_lora === true;
  if (causvid) applyCausVidPreset(task, settings, notes);

  settings.multi_prompts_gen_type = "FG";
  settings.prompt_enhancer = "";
  return { settings: settings as WanGPSettings, notes, causvid };
}

function applyCausVidPreset(task: Task, settings: Record<string, unknown>, notes: string[]): void {
  const merged = prependCausVidLora(
    (settings.activated_loras as string[] | undefined) ?? [],
    (settings.loras_multipliers as string | undefined) ?? "",
  );
  settings.activated_loras = merged.loras;
  settings.loras_multipliers = merged.multipliers;
  for (const [key, value] of [
    ["guidance_scale", CAUSVID_PRESET.guidanceScale],
    ["flow_shift", CAUSVID_PRESET.flowShift],
  ] as const) {
    if (settings[key] !== undefined && settings[key] !== value) {
      notes.push(`CausVid preset sets ${key} ${value} (the task asked for ${String(settings[key])})`);
    }
    settings[key] = value;
  }
  settings.num_inference_steps ??= CAUSVID_PRESET.defaultSteps;
  if (!isCausVidFamily(task.model)) {
    notes.push(
      `warning: the CausVid LoRA is made for Wan 2.1 text-to-video 14B models; '${task.model}' is not one, results may be poor`,
    );
  }
}
