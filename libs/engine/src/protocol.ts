/**
 * The wgp_bridge JSON-lines protocol, version 1 (engine-py/PROTOCOL.md), as zod schemas.
 * Field names are the wire's (snake_case); unknown fields are dropped, so the engine may add some.
 */
import { z } from "zod";

export const PROTOCOL_VERSION = 1;

const Detail = z.record(z.string(), z.unknown()).nullable();

/** What the host's WanGP knows (`ready.wangp.catalog`): read from the checkout the engine runs. */
export const WangpCatalogSchema = z.object({
  version: z.string().nullable(),
  mmgp_version: z.string().nullable(),
  settings_version: z.union([z.number(), z.string()]).nullable(),
  setting_names: z.array(z.string()),
  media_keys: z.array(z.string()),
  model_types: z.array(z.string()),
  source: z.record(z.string(), z.unknown()).optional(),
});
export type WangpCatalog = z.infer<typeof WangpCatalogSchema>;

/** The pre-flight summary of `ready.wangp.preflight` (PROTOCOL.md, "Pre-flight"). */
export const PreflightSummarySchema = z.object({
  ok: z.boolean(),
  mmgp_required: z.string().nullable(),
  mmgp_installed: z.string().nullable(),
  checks: z.array(
    z.object({ name: z.string(), status: z.string(), message: z.string(), fix: z.string().nullable() }),
  ),
});
export type PreflightSummary = z.infer<typeof PreflightSummarySchema>;

export const ReadyMessageSchema = z.object({
  type: z.literal("ready"),
  protocol: z.number().int(),
  adapter: z.enum(["wangp", "dry-run"]),
  engine_version: z.string(),
  wangp_version: z.string().nullable(),
  python: z.string(),
  gpu: z.object({ name: z.string(), vram_mb: z.number().int() }).nullable(),
  pid: z.number().int(),
  max_line_bytes: z.number().int().positive(),
  wangp: z
    .object({
      root: z.string(),
      config_path: z.string(),
      cli_args: z.array(z.string()),
      config_keys: z.record(z.string(), z.unknown()),
      /** Absent from older bridges. */
      catalog: WangpCatalogSchema.optional(),
      preflight: PreflightSummarySchema.optional(),
    })
    .nullable(),
});

export const FatalMessageSchema = z.object({
  type: z.literal("fatal"),
  message: z.string(),
  detail: Detail,
});

export const ProgressMessageSchema = z.object({
  type: z.literal("progress"),
  id: z.string(),
  phase: z.string(),
  step: z.number().int().nullable(),
  total: z.number().int().nullable(),
  percent: z.number().nullable(),
  text: z.string(),
  /** Sliding window n of N (engine-py; absent from older bridges). */
  window: z.number().int().optional(),
  windows: z.number().int().optional(),
  /** Seconds left, from the overall percent; never grows. */
  eta_s: z.number().nullable().optional(),
});

export const StatusMessageSchema = z.object({
  type: z.literal("status"),
  id: z.string(),
  text: z.string(),
});

export const LogStreamSchema = z.enum(["stdout", "stderr", "info", "bridge"]);

export const LogMessageSchema = z.object({
  type: z.literal("log"),
  id: z.string(),
  stream: LogStreamSchema,
  line: z.string(),
});

export const TimingsSchema = z.object({
  model_load_s: z.number(),
  generation_s: z.number(),
  total_s: z.number(),
});

export const ResultMessageSchema = z.object({
  type: z.literal("result"),
  id: z.string(),
  files: z.array(z.string()).min(1),
  main_file: z.string(),
  /** Kind of main_file (engine-py picks the last file of the model's main output kind). */
  media_type: z.enum(["video", "image", "audio", "other"]).optional(),
  seed: z.number().int(),
  model_type: z.string(),
  settings: z.record(z.string(), z.unknown()),
  timings: TimingsSchema,
});

export const EngineErrorKindSchema = z.enum(["invalid", "oom", "cancelled", "engine", "busy", "download"]);

export const ErrorMessageSchema = z.object({
  type: z.literal("error"),
  id: z.string(),
  kind: EngineErrorKindSchema,
  message: z.string(),
  detail: Detail,
});

export const DescribedMessageSchema = z.object({
  type: z.literal("described"),
  id: z.string(),
  model_type: z.string(),
  name: z.string().nullable(),
  defaults: z.record(z.string(), z.unknown()),
  lora_dir: z.string().nullable(),
  loras: z.array(z.string()),
  loras_supported: z.boolean(),
  availability: z.record(z.string(), z.unknown()).nullable(),
});

export const PongMessageSchema = z.object({
  type: z.literal("pong"),
  id: z.string(),
});

export const ProtocolErrorMessageSchema = z.object({
  type: z.literal("protocol_error"),
  id: z.string().nullable(),
  message: z.string(),
  detail: z.unknown(),
});

export const EngineMessageSchema = z.discriminatedUnion("type", [
  ReadyMessageSchema,
  FatalMessageSchema,
  ProgressMessageSchema,
  StatusMessageSchema,
  LogMessageSchema,
  ResultMessageSchema,
  ErrorMessageSchema,
  DescribedMessageSchema,
  PongMessageSchema,
  ProtocolErrorMessageSchema,
]);

export const GenerateCommandSchema = z.object({
  type: z.literal("generate"),
  id: z.string().min(1).max(256),
  settings: z.record(z.string(), z.unknown()),
  output_dir: z.string().refine((dir) => dir.startsWith("/"), "output_dir must be absolute"),
  output_name: z.string().min(1).max(200),
});

const AbsolutePath = z.string().refine((path) => path.startsWith("/"), "must be an absolute path");

/** `postprocess` with `call: "media_postprocessing"`: WanGP's submit_media_postprocessing (engine-py checks the values). */
export const MediaPostprocessingParamsSchema = z.strictObject({
  /** A registered spatial upsampler and its multiplier, e.g. "lanczos2", "flashvsr1.5". */
  spatial_upsampling: z.string().optional(),
  /** "rife2" or "rife4". */
  temporal_upsampling: z.string().optional(),
  film_grain_intensity: z.number().min(0).max(1).optional(),
  film_grain_saturation: z.number().min(0).max(1).optional(),
  seed: z.number().int().optional(),
});

/** `postprocess` with `call: "audio_remux"`: WanGP's submit_audio_remux with a soundtrack processor. */
export const AudioRemuxParamsSchema = z.strictObject({
  /** "custom" (lays audio_source under the video), "mmaudio", "prismaudio". */
  postprocess_audio: z.string().min(1),
  audio_source: AbsolutePath.nullable().optional(),
  postprocess_audio_prompt: z.string().optional(),
  postprocess_audio_neg_prompt: z.string().optional(),
  seed: z.number().int().optional(),
});

const PostprocessBase = {
  type: z.literal("postprocess"),
  id: z.string().min(1).max(256),
  source: AbsolutePath,
  output_dir: AbsolutePath,
};

/** Late post-processing of an existing file; answered like `generate` (progress, then `result` or `error`). */
export const PostprocessCommandSchema = z.union([
  z.object({
    ...PostprocessBase,
    call: z.literal("media_postprocessing"),
    params: MediaPostprocessingParamsSchema,
  }),
  z.object({ ...PostprocessBase, call: z.literal("audio_remux"), params: AudioRemuxParamsSchema }),
]);

export const EngineCommandSchema = z.union([
  GenerateCommandSchema,
  PostprocessCommandSchema,
  z.object({ type: z.literal("cancel"), id: z.string().min(1) }),
  z.object({ type: z.literal("describe"), id: z.string().min(1), model_type: z.string().min(1) }),
  z.object({ type: z.literal("ping"), id: z.string().min(1) }),
  z.object({ type: z.literal("shutdown") }),
]);

export type ReadyMessage = z.infer<typeof ReadyMessageSchema>;
export type FatalMessage = z.infer<typeof FatalMessageSchema>;
export type ProgressMessage = z.infer<typeof ProgressMessageSchema>;
export type StatusMessage = z.infer<typeof StatusMessageSchema>;
export type LogStream = z.infer<typeof LogStreamSchema>;
export type LogMessage = z.infer<typeof LogMessageSchema>;
export type Timings = z.infer<typeof TimingsSchema>;
export type ResultMessage = z.infer<typeof ResultMessageSchema>;
export type EngineErrorKind = z.infer<typeof EngineErrorKindSchema>;
export type ErrorMessage = z.infer<typeof ErrorMessageSchema>;
export type DescribedMessage = z.infer<typeof DescribedMessageSchema>;
export type PongMessage = z.infer<typeof PongMessageSchema>;
export type ProtocolErrorMessage = z.infer<typeof ProtocolErrorMessageSchema>;
export type EngineMessage = z.infer<typeof EngineMessageSchema>;
export type EngineCommand = z.infer<typeof EngineCommandSchema>;
export type MediaPostprocessingParams = z.infer<typeof MediaPostprocessingParamsSchema>;
export type AudioRemuxParams = z.infer<typeof AudioRemuxParamsSchema>;
export type PostprocessCommand = z.infer<typeof PostprocessCommandSchema>;
