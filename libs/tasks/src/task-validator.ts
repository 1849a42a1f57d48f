import { randomInt } from "node:crypto";
import type { z } from "zod";
import { closestName } from "./closest-name.js";
import { isMediaRef } from "./flow-fields.js";
import { resolveMediaPath } from "./media-paths.js";
import { normalizeOutputSubDir, outputSubDirProblem } from "./output-dir.js";
import { taskIdProblem } from "./task-id.js";
import { deriveTaskId } from "./task-id-derivation.js";
import {
  DEFAULT_PRIORITY,
  MEDIA_TASK_FIELDS,
  RANDOM_SEED_MAX,
  type StitchTask,
  StitchTaskFieldsSchema,
  TASK_FIELD_NAMES,
  TASK_FIELD_TO_WANGP_KEY,
  type Task,
  TaskFieldsSchema,
} from "./task-schema.js";
import {
  KNOWN_MODEL_TYPES,
  WANGP_MEDIA_KEYS,
  WANGP_SETTING_NAMES,
  type WangpKnowledge,
} from "./wangp-catalog.js";

export interface TaskIssue {
  /** Where in the task: `output_sub_dir`, `image_refs_paths[1]`, or "" for the task as a whole. */
  path: string;
  message: string;
}

export type TaskVerdict =
  | { ok: true; task: Task | StitchTask; warnings: TaskIssue[] }
  | { ok: false; taskId: string | undefined; errors: TaskIssue[]; warnings: TaskIssue[] };

export interface TaskValidatorOptions {
  /** Folder that relative media paths resolve against: the tasks file's folder, or --media-root. */
  mediaRoot: string;
  /** Unknown fields are errors instead of warnings. */
  strict?: boolean;
  /** Check that media files exist (default true). */
  checkMediaExists?: boolean;
  /** A task without task_id gets one derived from its content (the watcher) instead of an error. */
  deriveMissingIds?: boolean;
  /** What the farm's hosts know (default: the built-in catalog). */
  wangp?: WangpKnowledge;
  /** Media URLs may be plain http:// (a private network); default https:// and s3:// only. */
  allowHttpMedia?: boolean;
}

/** Keys wgp-farm sets itself on every WanGP task; a task's own value would break the pipeline. */
const RESERVED_SETTINGS: Readonly<Record<string, string>> = {
  output_filename: "wgp-farm names the output after the task",
  multi_prompts_gen_type: "wgp-farm always sends 'FG' (one generation per task)",
  prompt_enhancer: "the prompt enhancer is turned off for headless runs",
  client_id: "set by WanGP's API",
  settings_version: "set by WanGP's API",
};

const WANGP_MEDIA_KEY_SET: ReadonlySet<string> = new Set(WANGP_MEDIA_KEYS);

const BUILTIN_KNOWLEDGE: WangpKnowledge = {
  modelTypes: KNOWN_MODEL_TYPES,
  settingNames: WANGP_SETTING_NAMES,
  mediaKeys: WANGP_MEDIA_KEY_SET,
  source: "the built-in catalog",
  fromHosts: false,
};

function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return `a ${typeof value}`;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, part) =>
      typeof part === "number" ? `${text}[${part}]` : text ? `${text}.${String(part)}` : String(part),
    "",
  );
}

/**
 * Validates tasks one by one, the way the importer and the watcher need it: every problem is named by
 * field, the valid tasks are normalised (media paths absolute, seed drawn, output_sub_dir set), and
 * task_ids are unique within one validator's lifetime (one file).
 */
export class TaskValidator {
  private readonly seenIds = new Set<string>();
  private readonly seenOutputDirs = new Map<string, string>();

  private readonly wangp: WangpKnowledge;
  private readonly knownKeys: readonly string[];

  constructor(private readonly options: TaskValidatorOptions) {
    this.wangp = options.wangp ?? BUILTIN_KNOWLEDGE;
    this.knownKeys = [...TASK_FIELD_NAMES, ...this.wangp.settingNames];
  }

  async validate(raw: unknown): Promise<TaskVerdict> {
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      return {
        ok: false,
        taskId: undefined,
        errors: [{ path: "", message: `a task must be a JSON object, got ${describeType(raw)}` }],
        warnings: [],
      };
    }
    const errors: TaskIssue[] = [];
    const warnings: TaskIssue[] = [];
    const input = { ...(raw as Record<string, unknown>) };
    if (input.task_id === undefined && this.options.deriveMissingIds) input.task_id = deriveTaskId(input);
    const rawId = typeof input.task_id === "string" ? input.task_id : undefined;

    if (rawId !== undefined && taskIdProblem(rawId) === undefined) this.claimId(rawId, errors);
    if ("stitch" in input) return this.validateStitch(input, rawId, errors, warnings);
    this.moveWangpAliases(input, errors);
    this.dropReservedSettings(input, warnings);
    this.reportUnknownKeys(input, this.options.strict ? errors : warnings);

    const parsed = TaskFieldsSchema.safeParse(input);
    if (!parsed.success) errors.push(...this.zodIssues(parsed.error, input));
    if (!parsed.success || errors.length > 0) return { ok: false, taskId: rawId, errors, warnings };

    const fields = parsed.data;
    const passthrough = Object.fromEntries(
      Object.entries(input).filter(([key]) => !TASK_FIELD_NAMES.has(key) && this.wangp.settingNames.has(key)),
    );
    const task: Task = {
      ...passthrough,
      ...fields,
      seed: fields.seed === undefined || fields.seed === -1 ? randomInt(0, RANDOM_SEED_MAX + 1) : fields.seed,
      priority: fields.priority ?? DEFAULT_PRIORITY,
      output_sub_dir: "",
    };
    this.checkModel(task.model, warnings);
    this.refuseContinueLastVideo(task, errors);
    this.assignOutputDir(task, fields.output_sub_dir, errors);
    await this.resolveMedia(task, errors);
    await this.resolveStepMedia(task, errors);
    this.checkDependencies(task, this.mediaRefsOf(task), errors);
    if (errors.length > 0) return { ok: false, taskId: task.task_id, errors, warnings };
    this.seenOutputDirs.set(task.output_sub_dir, task.task_id);
    return { ok: true, task, warnings };
  }

  /** A stitch task (`"stitch": {"from": [...]}`): no prompt, no model, no WanGP settings. */
  private async validateStitch(
    input: Record<string, unknown>,
    rawId: string | undefined,
    errors: TaskIssue[],
    warnings: TaskIssue[],
  ): Promise<TaskVerdict> {
    const parsed = StitchTaskFieldsSchema.safeParse(input);
    if (!parsed.success) errors.push(...this.zodIssues(parsed.error, input));
    if (!parsed.success || errors.length > 0) return { ok: false, taskId: rawId, errors, warnings };
    const fields = parsed.data;
    const task: StitchTask = {
      ...fields,
      priority: fields.priority ?? DEFAULT_PRIORITY,
      output_sub_dir: "",
    };
    this.assignOutputDir(task, fields.output_sub_dir, errors);
    await this.resolveStepMedia(task, errors);
    const refs = task.stitch.from.map((from, index) => ({ path: `stitch.from[${index}]`, from }));
    this.checkDependencies(task, refs, errors, true);
    if (errors.length > 0) return { ok: false, taskId: task.task_id, errors, warnings };
    this.seenOutputDirs.set(task.output_sub_dir, task.task_id);
    return { ok: true, task, warnings };
  }

  /** Every `{"from": …}` of the task's media fields, with where it is. */
  private mediaRefsOf(task: Task): { path: string; from: string }[] {
    const refs: { path: string; from: string }[] = [];
    for (const [key, value] of Object.entries(task)) {
      if (isMediaRef(value)) refs.push({ path: `${key}.from`, from: value.from });
      if (Array.isArray(value))
        value.forEach((item, index) => {
          if (isMediaRef(item)) refs.push({ path: `${key}[${index}].from`, from: item.from });
        });
    }
    return refs;
  }

  /**
   * What one task can say wrong about its dependencies on its own; the flow as a whole (cycles,
   * tasks nobody knows, what a source produces) is checked by the importer once the file is read.
   * A stitch's sources are dependencies without being listed.
   */
  private checkDependencies(
    task: Task | StitchTask,
    refs: readonly { path: string; from: string }[],
    errors: TaskIssue[],
    refsAreDependencies = false,
  ): void {
    const dependsOn = new Set(task.depends_on ?? []);
    if (dependsOn.has(task.task_id))
      errors.push({ path: "depends_on", message: `a task cannot depend on itself ('${task.task_id}')` });
    for (const { path, from } of refs) {
      if (from === task.task_id) errors.push({ path, message: "a task cannot take its own output" });
      else if (!refsAreDependencies && !dependsOn.has(from))
        errors.push({
          path,
          message: `'${from}' is not in depends_on: add it there, so this task waits for its output`,
        });
    }
  }

  /** A `custom` soundtrack's audio file is a media path like the task's own. */
  private async resolveStepMedia(task: Task | StitchTask, errors: TaskIssue[]): Promise<void> {
    for (const [index, step] of (task.then ?? []).entries()) {
      if (step.kind !== "soundtrack" || step.audio_source === undefined) continue;
      step.audio_source = await this.resolveOne(step.audio_source, `then[${index}].soundtrack.audio`, errors);
    }
  }

  /** WanGP's own names (`video_length`, `model_type`, …) are accepted for the task's fields. */
  private moveWangpAliases(input: Record<string, unknown>, errors: TaskIssue[]): void {
    for (const [field, wangpKey] of Object.entries(TASK_FIELD_TO_WANGP_KEY)) {
      if (!(wangpKey in input)) continue;
      if (field in input) {
        errors.push({ path: wangpKey, message: `give either '${field}' or '${wangpKey}', not both` });
        continue;
      }
      input[field] = input[wangpKey];
      delete input[wangpKey];
    }
  }

  private dropReservedSettings(input: Record<string, unknown>, warnings: TaskIssue[]): void {
    for (const [key, reason] of Object.entries(RESERVED_SETTINGS)) {
      if (!(key in input)) continue;
      warnings.push({ path: key, message: `ignored: ${reason}` });
      delete input[key];
    }
  }

  private reportUnknownKeys(input: Record<string, unknown>, sink: TaskIssue[]): void {
    for (const key of Object.keys(input)) {
      if (TASK_FIELD_NAMES.has(key) || this.wangp.settingNames.has(key)) continue;
      const suggestion = closestName(key, this.knownKeys);
      const hint = suggestion
        ? `, did you mean '${suggestion}'?`
        : " (not a wgp-farm field nor a WanGP setting)";
      sink.push({ path: key, message: `unknown field${hint}` });
      delete input[key];
    }
  }

  /** Zod's issues, worded for the task's author: a missing field "is required", a wrong one says what it got. */
  private zodIssues(error: z.ZodError, input: Record<string, unknown>): TaskIssue[] {
    return error.issues.map((issue) => {
      const path = formatPath(issue.path);
      if (issue.code !== "invalid_type" && issue.code !== "invalid_union")
        return { path, message: issue.message };
      const value = issue.path.reduce<unknown>(
        (node, key) =>
          node !== null && typeof node === "object" ? (node as Record<PropertyKey, unknown>)[key] : undefined,
        input,
      );
      const message =
        value === undefined
          ? `is required: it ${issue.message}`
          : `${issue.message}, got ${describeType(value)}`;
      return { path, message };
    });
  }

  private checkModel(model: string, warnings: TaskIssue[]): void {
    const { modelTypes, fromHosts, source } = this.wangp;
    if (modelTypes.has(model)) return;
    const suggestion = closestName(model, modelTypes);
    const hint = suggestion ? `; did you mean '${suggestion}'?` : "";
    warnings.push({
      path: "model",
      message: fromHosts
        ? `no live host knows model '${model}' (${source}): the task waits for a host that knows it${hint}`
        : `'${model}' is not a model type of WanGP's defaults (fine for a finetune)${hint}`,
    });
  }

  /**
   * `L` in `image_prompt_type` makes WanGP continue "the last video": the newest file of its own
   * output folder, which on a farm is whatever that worker made last (CONTRACT.md §10.6).
   */
  private refuseContinueLastVideo(task: Task, errors: TaskIssue[]): void {
    const flags = task.image_prompt_type;
    if (typeof flags !== "string" || !flags.includes("L")) return;
    errors.push({
      path: "image_prompt_type",
      message:
        "'L' (continue the last video) is refused: on a farm the last video is whatever that worker made last; " +
        "to continue a given video, use 'V' and set video_source (video_source_path) to its path",
    });
  }

  private assignOutputDir(task: Task | StitchTask, given: string | undefined, errors: TaskIssue[]): void {
    const subDir = given ?? task.task_id;
    const problem = outputSubDirProblem(subDir);
    if (problem) {
      // Only reachable for the task_id default: a given output_sub_dir was checked by the schema.
      errors.push({
        path: "task_id",
        message: `cannot be used as the output folder: it ${problem}; set output_sub_dir`,
      });
      return;
    }
    task.output_sub_dir = normalizeOutputSubDir(subDir);
    const owner = this.seenOutputDirs.get(task.output_sub_dir);
    if (owner !== undefined) {
      errors.push({
        path: given === undefined ? "task_id" : "output_sub_dir",
        message: `output folder '${task.output_sub_dir}' is already used by task '${owner}' earlier in this file`,
      });
    }
  }

  private async resolveMedia(task: Task, errors: TaskIssue[]): Promise<void> {
    const mediaKeys = [
      ...MEDIA_TASK_FIELDS,
      ...Object.keys(task).filter((key) => this.wangp.mediaKeys.has(key)),
    ];
    for (const key of mediaKeys) {
      const value = task[key];
      if (value === undefined || value === null) continue;
      if (isMediaRef(value)) continue;
      if (Array.isArray(value)) {
        const resolved: unknown[] = [];
        for (const [index, item] of value.entries()) {
          if (isMediaRef(item)) {
            resolved.push(item);
            continue;
          }
          if (typeof item !== "string") {
            errors.push({ path: `${key}[${index}]`, message: "must be a file path (string)" });
            continue;
          }
          resolved.push(await this.resolveOne(item, `${key}[${index}]`, errors));
        }
        task[key] = resolved;
      } else if (typeof value === "string") {
        task[key] = await this.resolveOne(value, key, errors);
      } else {
        errors.push({
          path: key,
          message: 'must be a file path (string), {"from": "<task_id>"}, or a list of them',
        });
      }
    }
  }

  private async resolveOne(raw: string, fieldPath: string, errors: TaskIssue[]): Promise<string> {
    const result = await resolveMediaPath(
      raw,
      this.options.mediaRoot,
      this.options.checkMediaExists ?? true,
      {
        allowHttp: this.options.allowHttpMedia ?? false,
      },
    );
    if (result.problem) errors.push({ path: fieldPath, message: result.problem });
    return result.value;
  }

  private claimId(taskId: string, errors: TaskIssue[]): void {
    if (this.seenIds.has(taskId)) {
      errors.push({
        path: "task_id",
        message: `duplicate task_id '${taskId}': an earlier task in this file has it`,
      });
      return;
    }
    this.seenIds.add(taskId);
  }
}
