import { z } from "zod";
import { type PostStep, PostStepEntrySchema } from "./post-steps.js";

/** Step job ids are `<task>--then-<n>-<kind>`: a user's task id must not look like one. */
export const STEP_ID_MARK = "--then-";
/** Post-steps run as pseudo models `post.<kind>`; no task may name such a model itself. */
export const RESERVED_MODEL_PREFIX = "post.";

const MAX_THEN_STEPS = 8;
const MAX_STITCH_SOURCES = 1000;
const MAX_CROSSFADE_S = 10;

/** A media field that names another task's main output: `{"from": "seg_01"}`. Resolved by the worker. */
export interface MediaRef {
  from: string;
}

export function isMediaRef(value: unknown): value is MediaRef {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { from?: unknown }).from === "string"
  );
}

const taskIdRef = z.string({ error: "must be a task id (string)" }).min(1, "must not be empty");

export const MediaRefSchema = z
  .strictObject({ from: taskIdRef }, { error: 'must be {"from": "<task_id>"}' })
  .meta({ description: "The main output of another task of the flow (listed in depends_on)." });

export const DependsOnSchema = z
  .array(taskIdRef, { error: "must be a list of task ids" })
  .min(1, "must not be empty (leave it out instead)")
  .refine((ids) => new Set(ids).size === ids.length, "must not name a task twice")
  .meta({ description: "Tasks that must complete before this one starts (in this file or in the farm)." });

export const ThenSchema = z
  .array(PostStepEntrySchema, { error: 'must be a list of post-steps such as [{"upscale": "lanczos2"}]' })
  .min(1, "must not be empty (leave it out instead)")
  .max(MAX_THEN_STEPS, `must have at most ${MAX_THEN_STEPS} steps`)
  .meta({ description: "Post-steps run one after the other on this task's output, each its own job." });

export const StitchSpecSchema = z
  .strictObject(
    {
      from: z
        .array(taskIdRef, { error: "must be the list of tasks to join, in order" })
        .min(2, "must name at least two tasks to join")
        .max(MAX_STITCH_SOURCES, `must name at most ${MAX_STITCH_SOURCES} tasks`),
      crossfade: z
        .number({ error: "must be a number of seconds" })
        .min(0, "must be at least 0")
        .max(MAX_CROSSFADE_S, `must be at most ${MAX_CROSSFADE_S} seconds`)
        .optional(),
      reencode: z.boolean({ error: "must be true or false" }).default(true),
    },
    { error: 'must be {"from": [task ids], "crossfade"?: seconds, "reencode"?: bool}' },
  )
  .refine((spec) => !(spec.crossfade && spec.crossfade > 0 && !spec.reencode), {
    message: "a crossfade needs reencode: true (the concat demuxer only copies streams)",
    path: ["crossfade"],
  })
  .meta({ description: "Join these tasks' outputs in order with ffmpeg on a worker's CPU." });

export type StitchSpec = z.output<typeof StitchSpecSchema>;

/** The flow fields every task may have. */
export interface FlowFields {
  depends_on?: string[];
  then?: PostStep[];
}
