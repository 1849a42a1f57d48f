import type { ReadyMessage, ResultMessage } from "@wgp-farm/engine";
import { type MediaType, mainOutputOf } from "./media-type.js";
import type { PublishedFile } from "./output-publisher.js";
import type { Preview, PreviewReport } from "./preview-maker.js";

export interface ResultTimings {
  /** When the task was queued (the job's creation). */
  queued_at: string;
  /** When this attempt started on its slot. */
  started_at: string;
  finished_at: string;
  queue_wait_s: number;
  model_load_s: number;
  generation_s: number;
  total_s: number;
}

/** The job's return value: what the dashboard and `status` read without opening result.json. */
export interface ResultSummary {
  status: "completed";
  output_dir: string;
  main_file: string;
  /** The kind of main_file: image and audio models make no video. */
  media_type: MediaType;
  files: PublishedFile[];
  /** Posters, animated previews and thumbnails of the files (under `previews/`). */
  previews: Preview[];
  seed: number;
  model_type: string;
  timings: ResultTimings;
  slot: string;
  host: string;
  gpu_index: number;
}

/** result.json: everything needed to know how a video was made and to make it again. */
export interface ResultManifest extends ResultSummary {
  task_id: string;
  /** Exactly the settings sent to WanGP (seed and output name included). */
  settings: Record<string, unknown>;
  loras: { activated: string[]; multipliers: string };
  causvid: boolean;
  /** Things to know about this result: settings translations, the CausVid non-14B warning, import warnings. */
  notes: string[];
  attempt: number;
  worker: { name: string; host: string; pid: number; gpu_index: number; gpu_name: string | null };
  engine: { adapter: string; version: string; wangp_version: string | null; python: string };
}

/** What an engine reported of the files it made. */
type EngineReport = Pick<ResultMessage, "main_file" | "media_type" | "seed" | "model_type" | "timings">;

/**
 * Work the worker does itself, without an engine (a stitch): no seed, nothing to load, the whole
 * attempt is its work, and its main file is the one it names.
 */
export interface NoEngine {
  model_type: string;
  main_file: string;
}

export interface SummaryInput {
  outputDir: string;
  files: PublishedFile[];
  queuedAtMs: number;
  startedAtMs: number;
  finishedAtMs: number;
  slot: { id: string; host: string; gpuIndex: number };
  previews?: PreviewReport;
  made: { engine: EngineReport } | { noEngine: NoEngine };
}

const seconds = (ms: number) => Math.round(ms) / 1000;

/** The job's return value, for a result an engine made or one made without an engine. */
export function buildSummary(input: SummaryInput): ResultSummary {
  const { made, slot } = input;
  const totalS = seconds(input.finishedAtMs - input.startedAtMs);
  const report: EngineReport =
    "engine" in made
      ? made.engine
      : {
          main_file: made.noEngine.main_file,
          seed: 0,
          model_type: made.noEngine.model_type,
          timings: { model_load_s: 0, generation_s: totalS, total_s: totalS },
        };
  const { main, mainName, mediaType } = mainOutputOf(report, input.files);
  return {
    status: "completed",
    output_dir: input.outputDir,
    main_file: main?.name ?? mainName,
    media_type: mediaType,
    files: input.files,
    previews: input.previews?.previews ?? [],
    seed: report.seed,
    model_type: report.model_type,
    timings: {
      queued_at: new Date(input.queuedAtMs).toISOString(),
      started_at: new Date(input.startedAtMs).toISOString(),
      finished_at: new Date(input.finishedAtMs).toISOString(),
      queue_wait_s: seconds(Math.max(0, input.startedAtMs - input.queuedAtMs)),
      model_load_s: report.timings.model_load_s,
      generation_s: report.timings.generation_s,
      total_s: totalS,
    },
    slot: slot.id,
    host: slot.host,
    gpu_index: slot.gpuIndex,
  };
}

export interface ManifestInput extends Omit<SummaryInput, "made" | "slot"> {
  taskId: string;
  result: ResultMessage;
  notes: string[];
  causvid: boolean;
  attempt: number;
  slot: SummaryInput["slot"] & { gpuName: string | null };
  engine: ReadyMessage | undefined;
}

export function buildManifest(input: ManifestInput): ResultManifest {
  const { result, slot } = input;
  const { status, ...summary } = buildSummary({ ...input, made: { engine: result } });
  const settings = result.settings;
  const activated = Array.isArray(settings.activated_loras) ? settings.activated_loras.map(String) : [];
  return {
    status,
    task_id: input.taskId,
    ...summary,
    settings,
    loras: {
      activated,
      multipliers: typeof settings.loras_multipliers === "string" ? settings.loras_multipliers : "",
    },
    causvid: input.causvid,
    notes: [...input.notes, ...(input.previews?.warnings ?? [])],
    attempt: input.attempt,
    worker: {
      name: slot.id,
      host: slot.host,
      pid: process.pid,
      gpu_index: slot.gpuIndex,
      gpu_name: slot.gpuName,
    },
    engine: {
      adapter: input.engine?.adapter ?? "unknown",
      version: input.engine?.engine_version ?? "unknown",
      wangp_version: input.engine?.wangp_version ?? null,
      python: input.engine?.python ?? "unknown",
    },
  };
}

const SUMMARY_FIELDS = [
  "status",
  "output_dir",
  "main_file",
  "media_type",
  "files",
  "previews",
  "seed",
  "model_type",
  "timings",
  "slot",
  "host",
  "gpu_index",
] as const satisfies readonly (keyof ResultSummary)[];

/** The job's return value: the manifest's summary fields (and none of the fields a job's work adds). */
export function summarize(manifest: ResultManifest): ResultSummary {
  return Object.fromEntries(SUMMARY_FIELDS.map((field) => [field, manifest[field]])) as Pick<
    ResultManifest,
    (typeof SUMMARY_FIELDS)[number]
  >;
}
