import { z } from "zod";
import {
  DependsOnSchema,
  type MediaRef,
  MediaRefSchema,
  RESERVED_MODEL_PREFIX,
  STEP_ID_MARK,
  type StitchSpec,
  StitchSpecSchema,
  ThenSchema,
} from "./flow-fields.js";
import { outputSubDirProblem } from "./output-dir.js";
import { taskIdProblem } from "./task-id.js";
import { TaskWebhookSchema } from "./task-webhook.js";
import { hasControlCharactersBesidesLineBreaks } from "./text-rules.js";

/** BullMQ's priority range: 1 runs first. */
export const PRIORITY_MIN = 1;
export const PRIORITY_MAX = 2_097_151;
export const DEFAULT_PRIORITY = 100;
export const DEFAULT_MODEL = "t2v";
export const MAX_FRAMES = 10_000;
export const MAX_PROMPT_LENGTH = 20_000;
/** WanGP draws random seeds in [0, 999999999]; wgp-farm draws in the same range so seeds look alike. */
export const RANDOM_SEED_MAX = 999_999_999;
export const SEED_MAX = 2 ** 32 - 1;

/** A model type doubles as part of a queue name (`model.<type>`), so it is kept to safe characters. */
const MODEL_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

const mediaPath = z.union(
  [z.string({ error: "must be a file path (string)" }).min(1, "must not be empty"), MediaRefSchema],
  { error: 'must be a file path (string) or {"from": "<task_id>"}' },
);

const pathList = z
  .union([mediaPath, z.array(mediaPath)], { error: "must be a path or a list of paths" })
  .transform((value): (string | MediaRef)[] => (Array.isArray(value) ? value : [value]));

const taskIdField = z
  .string({ error: "must be a unique id for the task (a string)" })
  .superRefine((id, ctx) => {
    const problem = taskIdProblem(id);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
    else if (id.includes(STEP_ID_MARK))
      ctx.addIssue({
        code: "custom",
        message: `must not contain '${STEP_ID_MARK}' (the farm names post-step jobs '<task>${STEP_ID_MARK}<n>-<kind>')`,
      });
  })
  .meta({
    description: "Unique id of the task; becomes the BullMQ job id. No ':', not only digits, ≤128 chars.",
  });

const outputSubDirField = z
  .string({ error: "must be a folder name relative to the main output dir (string)" })
  .superRefine((subDir, ctx) => {
    const problem = outputSubDirProblem(subDir);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .optional()
  .meta({ description: "Folder under the main output dir for this task's results. Default: the task_id." });

const priorityField = z
  .int({ error: `must be a whole number from ${PRIORITY_MIN} (runs first) to ${PRIORITY_MAX}` })
  .min(PRIORITY_MIN, `must be at least ${PRIORITY_MIN} (1 runs first)`)
  .max(PRIORITY_MAX, `must be at most ${PRIORITY_MAX}`)
  .optional()
  .meta({
    description: `Queue priority within the model's queue: 1 runs first. Default ${DEFAULT_PRIORITY}.`,
  });

/**
 * The fields of a task that wgp-farm understands itself. Any other key must be a WanGP setting
 * (`WANGP_SETTING_NAMES`) and is passed through to WanGP.
 */
export const TaskFieldsSchema = z.object({
  task_id: taskIdField,
  prompt: z
    .string({ error: "must be the text prompt (a string)" })
    .refine((prompt) => prompt.trim().length > 0, "must not be empty")
    .refine(
      (prompt) => !hasControlCharactersBesidesLineBreaks(prompt),
      "must not contain control characters (NUL, escape, …)",
    )
    .refine((prompt) => prompt.length <= MAX_PROMPT_LENGTH, `must be at most ${MAX_PROMPT_LENGTH} characters`)
    .meta({ description: "The text prompt." }),
  model: z
    .string({ error: "must be a WanGP model type such as 't2v' or 'vace_14B'" })
    .regex(
      MODEL_TYPE_PATTERN,
      "must be a WanGP model type (letters, digits, '_', '.', '-'), such as 't2v' or 'vace_14B'",
    )
    .refine(
      (model) => !model.startsWith(RESERVED_MODEL_PREFIX),
      `must not start with '${RESERVED_MODEL_PREFIX}' (the farm's post-step queues); use 'then' for post-steps`,
    )
    .default(DEFAULT_MODEL)
    .meta({ description: "WanGP model type (t2v, t2v_1.3B, vace_14B, i2v, …). Default t2v." }),
  resolution: z
    .string({ error: "must be a string 'WIDTHxHEIGHT' such as '960x544'" })
    .regex(/^\d{2,5}x\d{2,5}$/, "must be 'WIDTHxHEIGHT' such as '960x544'")
    .refine((value) => value.split("x").every((side) => Number(side) >= 16 && Number(side) <= 8192), {
      message: "width and height must each be between 16 and 8192 pixels",
    })
    .optional()
    .meta({ description: "Output size 'WIDTHxHEIGHT'. WanGP floors it to a multiple of 16." }),
  frames: z
    .int({ error: "must be a whole number of frames" })
    .min(1, "must be at least 1")
    .max(MAX_FRAMES, `must be at most ${MAX_FRAMES}`)
    .optional()
    .meta({ description: "Number of frames (WanGP video_length)." }),
  seed: z
    .int({ error: "must be a whole number (-1 or absent for a random seed)" })
    .min(-1, "must be -1 (random) or between 0 and 4294967295")
    .max(SEED_MAX, "must be at most 4294967295")
    .optional()
    .meta({ description: "Seed; -1 or absent: a random seed is drawn at import and recorded." }),
  output_sub_dir: outputSubDirField,
  use_causvid_lora: z.boolean({ error: "must be true or false" }).optional().meta({
    description: "Apply the CausVid 14B T2V LoRA preset (0.3, cfg 1, shift 7, 12 steps unless set).",
  }),
  priority: priorityField,
  steps: z
    .int({ error: "must be a whole number of denoising steps" })
    .min(1, "must be at least 1")
    .max(1000, "must be at most 1000")
    .optional()
    .meta({ description: "Denoising steps (WanGP num_inference_steps)." }),
  guidance_scale: z
    .number({ error: "must be a number" })
    .min(0, "must be at least 0")
    .max(100, "must be at most 100")
    .optional(),
  flow_shift: z
    .number({ error: "must be a number" })
    .min(0, "must be at least 0")
    .max(100, "must be at most 100")
    .optional(),
  negative_prompt: z
    .string({ error: "must be a string" })
    .refine(
      (prompt) => !hasControlCharactersBesidesLineBreaks(prompt),
      "must not contain control characters (NUL, escape, …)",
    )
    .max(MAX_PROMPT_LENGTH, `must be at most ${MAX_PROMPT_LENGTH} characters`)
    .optional(),
  activated_loras: z
    .union([z.string().min(1, "must not be empty"), z.array(z.string().min(1, "must not be empty"))], {
      error: "must be a LoRA file name or a list of them",
    })
    .transform((value) => (typeof value === "string" ? [value] : value))
    .optional()
    .meta({ description: "LoRA files (relative to the model's LoRA folder, absolute, or URLs)." }),
  loras_multipliers: z
    .union([z.string(), z.array(z.number())], {
      error: "must be a string such as '0.7 1.0' or a list of numbers",
    })
    .transform((value) => (typeof value === "string" ? value : value.join(" ")))
    .optional()
    .meta({ description: "One multiplier per activated LoRA, space separated ('0.7 1.0')." }),
  video_prompt_type: z
    .string({ error: "must be a string of WanGP flag letters such as 'VA'" })
    .regex(/^[A-Z#]*$/, "must be WanGP flag letters such as 'VA' (upper-case letters only)")
    .optional()
    .meta({
      description: "WanGP control flags. Legacy 'VM' with a mask becomes 'VA' (see CONTRACT.md §2.4).",
    }),
  video_guide_path: mediaPath.optional().meta({ description: "Control video (WanGP video_guide)." }),
  video_mask_path: mediaPath.optional().meta({ description: "Mask video (WanGP video_mask)." }),
  video_source_path: mediaPath
    .optional()
    .meta({ description: "Source video to continue (WanGP video_source)." }),
  audio_guide_path: mediaPath.optional().meta({ description: "Audio guide (WanGP audio_guide)." }),
  image_start_paths: pathList.optional().meta({ description: "Start image(s) (WanGP image_start)." }),
  image_end_paths: pathList.optional().meta({ description: "End image(s) (WanGP image_end)." }),
  image_refs_paths: pathList.optional().meta({ description: "Reference image(s) (WanGP image_refs)." }),
  webhook: TaskWebhookSchema.optional(),
  depends_on: DependsOnSchema.optional(),
  // biome-ignore lint/suspicious/noThenProperty: the task file's field; a list, never callable, so never a thenable
  then: ThenSchema.optional(),
});

export type TaskFields = z.output<typeof TaskFieldsSchema>;

/**
 * A stitch task joins other tasks' outputs (ffmpeg on a worker's CPU): no prompt, no model. It may
 * itself depend on tasks and have post-steps (`then`) like any task.
 */
export const StitchTaskFieldsSchema = z.strictObject({
  task_id: taskIdField,
  stitch: StitchSpecSchema,
  depends_on: DependsOnSchema.optional(),
  // biome-ignore lint/suspicious/noThenProperty: the task file's field; a list, never callable, so never a thenable
  then: ThenSchema.optional(),
  output_sub_dir: outputSubDirField,
  priority: priorityField,
  webhook: TaskWebhookSchema.optional(),
});

export type StitchTask = Omit<z.output<typeof StitchTaskFieldsSchema>, "output_sub_dir" | "priority"> & {
  stitch: StitchSpec;
  output_sub_dir: string;
  priority: number;
};

export function isStitchTask(task: Task | StitchTask): task is StitchTask {
  return "stitch" in task && task.stitch !== undefined;
}
export const TASK_FIELD_NAMES: ReadonlySet<string> = new Set(Object.keys(TaskFieldsSchema.shape));

/**
 * A task after import: every known field normalised (paths absolute, seed concrete, output_sub_dir
 * set), plus the WanGP settings it passes through under WanGP's own names.
 */
export type Task = TaskFields & {
  seed: number;
  output_sub_dir: string;
  priority: number;
  /** WanGP settings given under WanGP's names (passed through unchanged). */
  [wangpSetting: string]: unknown;
};

/** Task fields and the WanGP setting each one feeds (CONTRACT.md §2.2). */
export const TASK_FIELD_TO_WANGP_KEY = {
  model: "model_type",
  frames: "video_length",
  steps: "num_inference_steps",
  video_guide_path: "video_guide",
  video_mask_path: "video_mask",
  video_source_path: "video_source",
  audio_guide_path: "audio_guide",
  image_start_paths: "image_start",
  image_end_paths: "image_end",
  image_refs_paths: "image_refs",
} as const;

export const MEDIA_TASK_FIELDS = [
  "video_guide_path",
  "video_mask_path",
  "video_source_path",
  "audio_guide_path",
  "image_start_paths",
  "image_end_paths",
  "image_refs_paths",
] as const;
