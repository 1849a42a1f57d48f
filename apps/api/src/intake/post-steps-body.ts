import { type PostStep, PostStepEntrySchema, resolveMediaPath, type TaskIssue } from "@wgp-farm/tasks";
import { ApiError } from "../errors.js";
import type { MediaReferences } from "./media-references.js";
import { refuseOtherFields } from "./submit-envelope.js";

/**
 * The steps of a postprocess body, `{"then": [{"upscale": "lanczos2"}, …]}`: a task file's `then`,
 * checked the same way, and a `custom` soundtrack's audio file confined like any media over HTTP
 * (an uploaded input, or a file under a media root). 400 for a body of another shape, 422 naming
 * each bad step.
 */
export async function postStepsOfBody(body: unknown, media: MediaReferences): Promise<PostStep[]> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ApiError(400, "invalid_body", 'send the steps as {"then": [{"upscale": "lanczos2"}, …]}');
  }
  const { then: given, ...rest } = body as { then?: unknown };
  refuseOtherFields(rest, "a postprocess body has only the field 'then'");
  if (!Array.isArray(given) || given.length === 0) {
    throw new ApiError(400, "invalid_body", "'then' must be a non-empty list of post-steps");
  }
  const { steps: resolved, errors } = await media.resolveStepAudio(given);
  const steps: PostStep[] = [];
  for (const [index, entry] of resolved.entries()) {
    const parsed = PostStepEntrySchema.safeParse(entry);
    if (!parsed.success) {
      errors.push(
        ...parsed.error.issues.map((issue) => ({
          path: ["then", index, ...issue.path].join(".").replace(/\.(\d+)/g, "[$1]"),
          message: issue.message,
        })),
      );
      continue;
    }
    const audio = parsed.data.kind === "soundtrack" ? parsed.data.audio_source : undefined;
    const missing = audio === undefined ? undefined : (await resolveMediaPath(audio, "/", true)).problem;
    if (missing) errors.push({ path: `then[${index}].soundtrack.audio`, message: missing });
    steps.push(parsed.data);
  }
  if (errors.length > 0) throw invalidSteps(errors);
  return steps;
}

export function invalidSteps(
  errors: TaskIssue[],
  message = "fix the steps named in details.errors",
): ApiError {
  return new ApiError(422, "invalid_steps", `no step was queued: ${message}`, { errors });
}
