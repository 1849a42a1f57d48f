import { z } from "zod";
import type { ModelMediaType } from "./model-media.js";

/**
 * A post-step as a task file says it (`then: [{"upscale": "lanczos2"}, …]`), normalised to the
 * WanGP parameters of its late post-processing call (`submit_media_postprocessing`,
 * `submit_audio_remux`). The same shape as `PostStep` in @wgp-farm/queue's step-job contract.
 */
export type PostStep =
  | { kind: "upscale"; spatial_upsampling: string }
  | { kind: "interpolate"; temporal_upsampling: string }
  | { kind: "film_grain"; intensity: number; saturation: number }
  | { kind: "soundtrack"; postprocess_audio: string; audio_source?: string; prompt?: string };

export type PostStepKind = PostStep["kind"];

/**
 * WanGP's late spatial upsamplers (`postprocessing/*\/wgp_bridge.py`: `methods`, `multipliers`,
 * `media`), valued `<method><multiplier>` such as `lanczos2`. VAE upsamplers are model features and
 * not accepted late. Image-only upsamplers refuse a video source.
 */
const SPATIAL_UPSAMPLERS: Readonly<
  Record<string, { multipliers: readonly number[]; media: readonly string[] }>
> = {
  lanczos: { multipliers: [1, 1.5, 2, 2.5, 3, 3.5, 4], media: ["video", "image"] },
  flashvsr: { multipliers: [1, 1.5, 2, 2.5, 3, 3.5, 4], media: ["video", "image"] },
  flashvsr2pass: { multipliers: [1, 1.5, 2, 2.5, 3, 3.5, 4], media: ["video", "image"] },
  ltx23: { multipliers: [2], media: ["video"] },
  ltx25: { multipliers: [2], media: ["video"] },
  coz: { multipliers: [2, 4, 8, 16], media: ["image"] },
  flux_pid: { multipliers: [4], media: ["image"] },
  flux2_pid: { multipliers: [4], media: ["image"] },
  qwen_pid: { multipliers: [4], media: ["image"] },
};

/** `postprocessing/rife/__init__.py`: RIFE_TEMPORAL_UPSAMPLING_MODES (video only). */
export const TEMPORAL_UPSAMPLINGS = ["rife2", "rife4"] as const;

/** WanGP's soundtrack processors for `submit_audio_remux` (docs/API.md, "Video Audio Remuxing"). */
export const SOUNDTRACK_METHODS = ["custom", "mmaudio", "prismaudio"] as const;

/** The names a task file uses, in the order a chain usually runs. */
export const POST_STEP_NAMES = ["upscale", "interpolate", "film_grain", "soundtrack"] as const;

function splitUpsampling(value: string): { method: string; multiplier: number } | undefined {
  const methods = Object.keys(SPATIAL_UPSAMPLERS).sort((a, b) => b.length - a.length);
  const text = value.trim().toLowerCase();
  const method = methods.find((name) => text.startsWith(name));
  if (method === undefined) return undefined;
  const multiplier = Number(text.slice(method.length));
  return text.length > method.length && Number.isFinite(multiplier) ? { method, multiplier } : undefined;
}

function upscaleProblem(value: string): string | undefined {
  const split = splitUpsampling(value);
  const known = Object.entries(SPATIAL_UPSAMPLERS)
    .map(([method, { multipliers }]) => `${method}${multipliers.join("|")}`)
    .join(", ");
  if (!split) return `'${value}' is not a WanGP spatial upsampler; use one of ${known} (e.g. 'lanczos2')`;
  const { multipliers } = SPATIAL_UPSAMPLERS[split.method] as { multipliers: readonly number[] };
  if (!multipliers.includes(split.multiplier))
    return `${split.method} scales by ${multipliers.join(", ")}, not ${split.multiplier}`;
  return undefined;
}

const SoundtrackSchema = z
  .union([
    z.enum(SOUNDTRACK_METHODS),
    z.strictObject({
      method: z.enum(SOUNDTRACK_METHODS, { error: `must be one of ${SOUNDTRACK_METHODS.join(", ")}` }),
      audio: z.string().min(1, "must not be empty").optional(),
      prompt: z.string().min(1, "must not be empty").optional(),
    }),
  ])
  .transform((value) => (typeof value === "string" ? { method: value } : value))
  .superRefine((value, ctx) => {
    if (value.method === "custom" && value.audio === undefined)
      ctx.addIssue({ code: "custom", message: "'custom' replaces the soundtrack with a file: give 'audio'" });
    if (value.method !== "custom" && value.audio !== undefined)
      ctx.addIssue({ code: "custom", message: `'audio' is for the 'custom' method, not '${value.method}'` });
  });

const FilmGrainSchema = z
  .union([
    z.number(),
    z.strictObject({ intensity: z.number(), saturation: z.number().min(0).max(1).optional() }),
  ])
  .transform((value) => (typeof value === "number" ? { intensity: value } : value))
  .refine(({ intensity }) => intensity > 0 && intensity <= 1, "intensity must be above 0 and at most 1");

const STEP_VALUE_SCHEMAS = {
  upscale: z
    .string({ error: "must be a WanGP spatial upsampler such as 'lanczos2'" })
    .superRefine((value, ctx) => {
      const problem = upscaleProblem(value);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
  interpolate: z.enum(TEMPORAL_UPSAMPLINGS, {
    error: `must be a WanGP temporal upsampler: ${TEMPORAL_UPSAMPLINGS.join(", ")}`,
  }),
  film_grain: FilmGrainSchema,
  soundtrack: SoundtrackSchema,
} as const;

function toPostStep(name: keyof typeof STEP_VALUE_SCHEMAS, value: unknown): PostStep {
  if (name === "upscale") return { kind: "upscale", spatial_upsampling: String(value).trim().toLowerCase() };
  if (name === "interpolate") return { kind: "interpolate", temporal_upsampling: String(value) };
  if (name === "film_grain") {
    const grain = value as z.output<typeof FilmGrainSchema>;
    return { kind: "film_grain", intensity: grain.intensity, saturation: grain.saturation ?? 0.5 };
  }
  const { method, audio, prompt } = value as z.output<typeof SoundtrackSchema>;
  return {
    kind: "soundtrack",
    postprocess_audio: method,
    ...(audio !== undefined ? { audio_source: audio } : {}),
    ...(prompt !== undefined ? { prompt } : {}),
  };
}

/** One entry of `then`: an object with exactly one of the step names, its value checked by that step. */
export const PostStepEntrySchema = z
  .record(z.string(), z.unknown(), { error: 'must be an object such as {"upscale": "lanczos2"}' })
  .transform((entry, ctx): PostStep => {
    const keys = Object.keys(entry);
    const name = keys[0] as keyof typeof STEP_VALUE_SCHEMAS;
    if (keys.length !== 1 || !(name in STEP_VALUE_SCHEMAS)) {
      ctx.issues.push({
        code: "custom",
        input: entry,
        message: `must have exactly one of ${POST_STEP_NAMES.join(", ")}, got ${keys.length ? keys.join(", ") : "none"}`,
      });
      return z.NEVER;
    }
    const parsed = STEP_VALUE_SCHEMAS[name].safeParse(entry[name]);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        ctx.issues.push({
          code: "custom",
          input: entry[name],
          message: issue.message,
          path: [name, ...issue.path],
        });
      return z.NEVER;
    }
    return toPostStep(name, parsed.data);
  })
  .meta({
    description:
      'A post-step: {"upscale": "lanczos2"}, {"interpolate": "rife2"}, {"film_grain": 0.1}, or {"soundtrack": "mmaudio"}.',
  });

/**
 * Why a step cannot take a source of this media type, or undefined. Post-steps work on the source's
 * main output: temporal upsampling and soundtracks need a video; an image-only upsampler an image.
 */
export function postStepMediaProblem(step: PostStep, source: ModelMediaType): string | undefined {
  if (source === "audio") return `${step.kind} cannot take an audio output`;
  if ((step.kind === "interpolate" || step.kind === "soundtrack") && source !== "video")
    return `${step.kind} needs a video, and this source makes ${source === "image" ? "an image" : source}`;
  if (step.kind === "upscale") {
    const split = splitUpsampling(step.spatial_upsampling);
    const media = split ? SPATIAL_UPSAMPLERS[split.method]?.media : undefined;
    if (media && !media.includes(source))
      return `${split?.method} upscales ${media.join(" or ")} only, and this source makes ${source === "image" ? "an image" : `a ${source}`}`;
  }
  return undefined;
}
