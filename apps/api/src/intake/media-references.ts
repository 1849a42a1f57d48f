import { realpath } from "node:fs/promises";
import path from "node:path";
import { MEDIA_TASK_FIELDS, type TaskIssue, WANGP_MEDIA_KEYS } from "@wgp-farm/tasks";
import { INPUT_ID_PREFIX, type InputStore } from "../inputs/input-store.js";
import { isInside } from "../path-inside.js";

/** Every key whose value the validator treats as a media path (the task's fields and WanGP's names). */
const MEDIA_KEYS: ReadonlySet<string> = new Set([...MEDIA_TASK_FIELDS, ...WANGP_MEDIA_KEYS]);

/** Resolves to the real path when the file exists, else undefined (the validator reports it missing). */
async function realPathOf(file: string): Promise<string | undefined> {
  return realpath(file).catch(() => undefined);
}

/**
 * What media a task sent over HTTP may name: an uploaded input (`input:<sha256>`, replaced by its
 * stored path) or a file under one of the configured media roots. Anything else is refused before
 * the validator looks at it, so a client can neither make a worker read an arbitrary file nor learn
 * whether one exists.
 */
export class MediaReferences {
  readonly #inputs: InputStore;
  readonly #roots: readonly string[];

  constructor(inputs: InputStore, mediaRoots: readonly string[]) {
    this.#inputs = inputs;
    this.#roots = mediaRoots.map((root) => path.resolve(root));
  }

  /** The task with its media references resolved; refused references are removed and reported. */
  async resolve(
    task: Record<string, unknown>,
  ): Promise<{ task: Record<string, unknown>; errors: TaskIssue[] }> {
    const resolved = { ...task };
    const errors: TaskIssue[] = [];
    for (const key of Object.keys(task)) {
      if (!MEDIA_KEYS.has(key)) continue;
      const value = task[key];
      if (typeof value === "string") {
        const one = await this.#resolveOne(value, key, errors);
        if (one === undefined) delete resolved[key];
        else resolved[key] = one;
      } else if (Array.isArray(value)) {
        const items = await Promise.all(
          value.map((item, i) =>
            typeof item === "string" ? this.#resolveOne(item, `${key}[${i}]`, errors) : item,
          ),
        );
        if (items.some((item) => item === undefined)) delete resolved[key];
        else resolved[key] = items;
      }
    }
    if (Array.isArray(task.then))
      // biome-ignore lint/suspicious/noThenProperty: the task's post-step field
      resolved.then = await this.#resolveStepAudio(task.then, errors);
    return { task: resolved, errors };
  }

  /**
   * A `custom` soundtrack names an audio file (`then[i].soundtrack.audio`): a media path like the
   * task's own, confined the same way. A refused one is removed, so the validator reports the step.
   */
  async resolveStepAudio(steps: readonly unknown[]): Promise<{ steps: unknown[]; errors: TaskIssue[] }> {
    const errors: TaskIssue[] = [];
    return { steps: await this.#resolveStepAudio(steps, errors), errors };
  }

  async #resolveStepAudio(steps: readonly unknown[], errors: TaskIssue[]): Promise<unknown[]> {
    return Promise.all(
      steps.map(async (step, i) => {
        const soundtrack = (step as { soundtrack?: unknown } | null)?.soundtrack;
        const audio = (soundtrack as { audio?: unknown } | null)?.audio;
        if (typeof audio !== "string") return step;
        const file = await this.#resolveOne(audio, `then[${i}].soundtrack.audio`, errors);
        const { audio: _refused, ...rest } = soundtrack as Record<string, unknown>;
        return { ...(step as object), soundtrack: file === undefined ? rest : { ...rest, audio: file } };
      }),
    );
  }

  async #resolveOne(value: string, field: string, errors: TaskIssue[]): Promise<string | undefined> {
    const bar = value.indexOf("|");
    const [file, suffix] = bar === -1 ? [value, ""] : [value.slice(0, bar), value.slice(bar)];
    if (file.startsWith(INPUT_ID_PREFIX)) {
      const stored = await this.#inputs.pathOf(file);
      if (stored) return stored + suffix;
      errors.push({
        path: field,
        message: `no uploaded input '${file}': upload the file with POST /v1/inputs and name the input_id it returns`,
      });
      return undefined;
    }
    const [firstRoot] = this.#roots;
    if (firstRoot === undefined) {
      errors.push({
        path: field,
        message: `'${value}' is a path; over HTTP a task names uploaded inputs only: upload the file with POST /v1/inputs and give its input_id ('input:<sha256>')`,
      });
      return undefined;
    }
    const absolute = path.resolve(firstRoot, file);
    if (await this.#isUnderRoot(absolute)) return absolute + suffix;
    errors.push({
      path: field,
      message: `'${file}' is outside the media folders this API may read; upload the file with POST /v1/inputs and give its input_id ('input:<sha256>')`,
    });
    return undefined;
  }

  /** Inside a root by name and, when it exists, by its real path too (no symlink out of the roots). */
  async #isUnderRoot(absolute: string): Promise<boolean> {
    if (!this.#roots.some((root) => isInside(root, absolute))) return false;
    const real = await realPathOf(absolute);
    if (real === undefined) return true;
    const realRoots = await Promise.all(this.#roots.map(realPathOf));
    return realRoots.some((root) => root !== undefined && isInside(root, real));
  }
}
