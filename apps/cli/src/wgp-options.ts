import type { WgpOptionName } from "@wgp-farm/engine";
import { z } from "zod";
import type { CliOption } from "./cli-options.js";

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

const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
const envName = (name: string) => `WGP_FARM_WGP_${name.toUpperCase().replaceAll("-", "_")}`;

/** The `--wgp-*` flags, each with its WGP_FARM_WGP_* variable, for any command that starts WanGP. */
export const WGP_CLI_OPTIONS: readonly CliOption[] = WGP_OPTIONS.map((option) => ({
  flags: `--wgp-${option.name} <value>`,
  description: option.description,
  env: envName(option.name),
}));

/** Zod fields for the `--wgp-*` values, to spread into a command's settings schema. */
export const WGP_SETTINGS_FIELDS = Object.fromEntries(
  WGP_OPTIONS.map(({ name }) => [camel(`wgp-${name}`), z.string().optional()]),
) as Record<string, z.ZodOptional<z.ZodString>>;

/** The `--wgp-*` values that were given, keyed as EngineProcessOptions.wgpOptions wants them. */
export function wgpOptionsOf(settings: Record<string, unknown>): Partial<Record<WgpOptionName, string>> {
  const values: Partial<Record<WgpOptionName, string>> = {};
  for (const { name } of WGP_OPTIONS) {
    const value = settings[camel(`wgp-${name}`)];
    if (typeof value === "string") values[name] = value;
  }
  return values;
}
