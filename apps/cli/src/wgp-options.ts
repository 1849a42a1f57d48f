import { type OptionField, option } from "@wgp-farm/config";
import type { WgpOptionName } from "@wgp-farm/engine";
import { z } from "zod";

/** The old headless `--wgp-*` options, as engine-py maps them onto today's WanGP (engine-py/PROTOCOL.md). */
const WGP_OPTIONS: readonly { name: WgpOptionName; description: string }[] = [
  { name: "attention-mode", description: "WanGP --attention: auto, sdpa, sage, sage2, flash, xformers" },
  { name: "compile", description: "WanGP --compile: transformer, or empty for none" },
  { name: "profile", description: "WanGP --profile: 1, 2, 3, 3.5, 4, 4.5, 5" },
  { name: "vae-config", description: "WanGP --vae-config: 0–3" },
  { name: "transformer-dtype-policy", description: "WanGP --fp16 / --bf16: '', fp16, bf16" },
  { name: "boost", description: "config boost: 1 on, 2 off" },
  { name: "transformer-quantization", description: "config transformer_quantization: int8, fp8, bf16" },
  { name: "text-encoder-quantization", description: "config text_encoder_quantization: int8, bf16" },
  { name: "vae-precision", description: "config vae_precision: 16, 32" },
  { name: "mixed-precision", description: "config mixed_precision: 0, 1" },
  { name: "preload-policy", description: "config preload_model_policy: '', S, U (P is refused)" },
];

const keyOf = (name: WgpOptionName) => `wgp-${name}`.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * The `--wgp-*` options of every command that starts WanGP, each with its WGP_FARM_WGP_* variable.
 * No defaults: an option not given leaves WanGP's own setting alone.
 */
export const WGP_OPTION_SET: Readonly<Record<string, OptionField<string>>> = Object.fromEntries(
  WGP_OPTIONS.map(({ name, description }) => [
    keyOf(name),
    option({
      flag: `--wgp-${name}`,
      takes: "value",
      env: `WGP_FARM_WGP_${name.toUpperCase().replaceAll("-", "_")}`,
      description,
      schema: z.string(),
    }),
  ]),
);

/** The `--wgp-*` values that were given, keyed as the engine's wgpOptions wants them. */
export function wgpOptionsOf(
  values: Readonly<Record<string, unknown>>,
): Partial<Record<WgpOptionName, string>> {
  const given: Partial<Record<WgpOptionName, string>> = {};
  for (const { name } of WGP_OPTIONS) {
    const value = values[keyOf(name)];
    if (typeof value === "string") given[name] = value;
  }
  return given;
}
