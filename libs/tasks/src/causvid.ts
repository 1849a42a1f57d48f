/**
 * Models built on the Wan 2.1 text-to-video 14B weights (architecture `t2v`/`vace_14B`, or URLs taken
 * from `t2v`): the family the CausVid 14B T2V LoRA was trained for. A judgement about weights, not a
 * fact WanGP's catalog states, so it is kept here.
 */
export const WAN21_T2V_14B_FAMILY: ReadonlySet<string> = new Set([
  "t2v",
  "t2v_fusionix",
  "t2v_sf",
  "moviigen",
  "alpha",
  "alpha_sf",
  "lynx",
  "standin",
  "vace_14B",
  "vace_14B_cocktail",
  "vace_14B_fusionix",
  "vace_14B_sf",
  "vace_ditto_14B",
  "vace_lynx_14B",
  "vace_standin_14B",
  "vace_multitalk_14B",
  "phantom_14B",
]);

/** The CausVid preset of the old headless script, with the settings WanGP's docs give for 12 steps. */
export const CAUSVID_PRESET = {
  loraFile: "Wan21_CausVid_14B_T2V_lora_rank32.safetensors",
  defaultUrl:
    "https://huggingface.co/Kijai/WanVideo_comfy/resolve/main/Wan21_CausVid_14B_T2V_lora_rank32.safetensors",
  multiplier: 0.3,
  guidanceScale: 1.0,
  flowShift: 7.0,
  defaultSteps: 12,
} as const;

export function isCausVidFamily(modelType: string): boolean {
  return WAN21_T2V_14B_FAMILY.has(modelType);
}

function isCausVidLora(entry: string): boolean {
  return entry === CAUSVID_PRESET.loraFile || entry.endsWith(`/${CAUSVID_PRESET.loraFile}`);
}

/**
 * Puts the CausVid LoRA in front of the task's own LoRAs. Multipliers are positional in WanGP (one
 * token per LoRA, separated by spaces or new lines; missing ones default to 1.0), so the preset's
 * multiplier goes first, on a line of its own so that a task's `#` comment lines stay comments.
 */
export function prependCausVidLora(
  loras: readonly string[],
  multipliers: string,
): { loras: string[]; multipliers: string } {
  if (loras.some(isCausVidLora)) return { loras: [...loras], multipliers };
  const own = multipliers.trim();
  const preset = String(CAUSVID_PRESET.multiplier);
  return {
    loras: [CAUSVID_PRESET.loraFile, ...loras],
    multipliers: own === "" ? preset : `${preset}\n${own}`,
  };
}
