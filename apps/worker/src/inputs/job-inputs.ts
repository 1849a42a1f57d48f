import {
  isMediaUrl,
  type MediaUrl,
  parseMediaUrl,
  redactUrl,
  WANGP_MEDIA_KEYS,
  type WanGPSettingsPlan,
} from "@wgp-farm/tasks";
import { MissingMediaError } from "../job/media-check.js";
import type { CachedInput, InputCache } from "./input-cache.js";
import { InputChecksumError, InputMissingError } from "./input-source.js";

/** The cached inputs a job's settings point at: held until the job is over. */
export interface JobInputs {
  release(): Promise<void>;
}

/** Where in the settings a URL sits: a key, and the index for a list. */
interface UrlField {
  key: string;
  index: number | undefined;
  raw: string;
}

function urlFieldsOf(settings: Record<string, unknown>): UrlField[] {
  const fields: UrlField[] = [];
  for (const key of WANGP_MEDIA_KEYS) {
    const value = settings[key];
    if (typeof value === "string" && isMediaUrl(value)) fields.push({ key, index: undefined, raw: value });
    if (!Array.isArray(value)) continue;
    for (const [index, item] of value.entries()) {
      if (typeof item === "string" && isMediaUrl(item)) fields.push({ key, index, raw: item });
    }
  }
  return fields;
}

const fieldName = ({ key, index }: UrlField) => (index === undefined ? key : `${key}[${index}]`);

/**
 * The file name an input reaches WanGP under: the last segment of the URL's path, in characters
 * WanGP reads as a plain file name (no `|`, which starts its virtual-media suffix). WanGP takes the
 * media type from the extension (has_image_file_extension: a start image named `<sha256>` is "not
 * an Image").
 */
export function fileNameOf(media: MediaUrl): string {
  const segment = new URL(media.url).pathname.split("/").at(-1) ?? "";
  let decoded = segment;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    // A malformed escape: the segment as written.
  }
  return decoded.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^\.+/, "") || "input";
}

/** An input that is not there, or not the file pinned, is the task's fault (invalid); anything else stays as it is. */
function asTaskError(error: unknown, what: string): unknown {
  if (error instanceof InputMissingError || error instanceof InputChecksumError) {
    return new MissingMediaError([`${what}: ${error.message}`]);
  }
  return error;
}

/**
 * One file given by URL (a post-step's source kept in a bucket) in this host's input cache, held
 * until released, under the file name `name`; `what` names it in errors. Failures are classed as
 * for a task's media fields.
 */
export async function localizeUrl(
  url: string,
  source: { what: string; name: string },
  cache: InputCache,
  log: (line: string) => void,
  signal: AbortSignal,
): Promise<CachedInput> {
  const media = parseMediaUrl(url);
  if ("problem" in media) throw new MissingMediaError([`${source.what}: ${media.problem}`]);
  try {
    return await cache.acquireNamed(media, source.name, log, signal);
  } catch (error) {
    throw asTaskError(error, source.what);
  }
}

/**
 * Puts every media URL of a job's settings into this host's input cache and points the settings at
 * the cached files, each under its URL's file name (WanGP reads local paths and goes by their
 * extensions; a virtual-media suffix stays after the path). The
 * notes, which go to the job log and result.json, record each URL (redacted) and the sha256 used.
 * A URL the source says is not there, or a file that is not the one pinned, makes the task invalid;
 * other failures are retried like any failed download.
 */
export async function localizeJobInputs(
  plan: WanGPSettingsPlan,
  cache: InputCache,
  log: (line: string) => void,
  signal: AbortSignal,
): Promise<JobInputs> {
  const fields = urlFieldsOf(plan.settings);
  if (fields.length === 0) return { release: async () => {} };
  const outcomes = await Promise.allSettled(
    fields.map(async (field) => {
      // The importer decided which schemes this farm takes; the worker fetches what it was given.
      const media = parseMediaUrl(field.raw, { allowHttp: true });
      if ("problem" in media) throw new MissingMediaError([`${fieldName(field)}: ${media.problem}`]);
      const cached = await cache.acquireNamed(media, fileNameOf(media), log, signal);
      return { field, media, cached };
    }),
  );
  const held = outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value.cached] : []));
  const release = async () => {
    await Promise.all(held.map((input: CachedInput) => input.release()));
  };
  const failure = outcomes.findIndex((outcome) => outcome.status === "rejected");
  if (failure !== -1) {
    await release();
    const error = (outcomes[failure] as PromiseRejectedResult).reason as unknown;
    throw asTaskError(error, fieldName(fields[failure] as UrlField));
  }
  for (const outcome of outcomes) {
    if (outcome.status !== "fulfilled") continue;
    const { field, media, cached } = outcome.value;
    const local = cached.path + media.suffix;
    if (field.index === undefined) plan.settings[field.key] = local;
    else (plan.settings[field.key] as unknown[])[field.index] = local;
    const origin = cached.fetched ? "fetched" : "from this host's input cache";
    plan.notes.push(`input ${fieldName(field)}: ${redactUrl(media.url)} sha256 ${cached.sha256} (${origin})`);
  }
  return { release };
}
